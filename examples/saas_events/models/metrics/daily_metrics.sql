{{
    config(
        materialized='materialized_view',
        indexes=[{'columns': ['tenant_id', 'event_date'], 'unique': true}],
    )
}}

-- Events and active users per customer and day, for internal dashboards. A materialized
-- view cannot carry row-level security and is computed with its owner's rights, so it
-- holds every customer's rows: it lives in the internal schema, which tenant roles cannot
-- read. (Customers query fct_events, which is protected.)
select
    tenant_id,
    event_date,
    count(*) as events,
    count(distinct user_id) as active_users
from {{ ref('fct_events') }}
group by tenant_id, event_date
