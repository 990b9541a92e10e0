select
    event_id,
    tenant_id,
    user_id,
    lower(trim(event_name)) as event_name,
    occurred_at,
    occurred_at::date as event_date
from {{ ref('raw_events') }}
where {{ tenant_filter('tenant_id') }}
    and occurred_at < '{{ var("events_until") }}'::timestamp
