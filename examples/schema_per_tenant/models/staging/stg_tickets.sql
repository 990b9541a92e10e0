select
    ticket_id,
    tenant,
    priority,
    opened_at,
    closed_at,
    closed_at is not null as is_closed
from {{ ref('raw_tickets') }}
where {{ this_tenant('tenant') }}
