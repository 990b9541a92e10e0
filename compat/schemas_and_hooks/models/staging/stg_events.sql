select
    event_id,
    user_id,
    event_type,
    occurred_at::timestamp as occurred_at
from {{ ref('raw_events') }}
