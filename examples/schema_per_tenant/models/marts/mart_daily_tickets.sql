-- Tickets opened and closed per day and priority.
select
    tenant,
    opened_at::date as day,
    priority,
    count(*) as opened,
    count(*) filter (where is_closed) as closed,
    round(avg(hours_to_close), 1) as avg_hours_to_close
from {{ ref('fct_tickets') }}
group by tenant, opened_at::date, priority
