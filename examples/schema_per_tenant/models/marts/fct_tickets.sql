-- One row per support ticket of the tenant being built.
select
    ticket_id,
    tenant,
    priority,
    opened_at,
    closed_at,
    is_closed,
    round(extract(epoch from closed_at - opened_at) / 3600.0, 1) as hours_to_close
from {{ ref('stg_tickets') }}
