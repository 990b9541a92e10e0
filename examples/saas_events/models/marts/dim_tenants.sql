-- One row per customer; each customer's role sees its own row only.
select
    t.tenant_id,
    t.tenant_name,
    t.plan,
    t.created_at,
    count(distinct e.user_id) as users_seen
from {{ ref('stg_tenants') }} as t
left join {{ ref('stg_events') }} as e on e.tenant_id = t.tenant_id
group by t.tenant_id, t.tenant_name, t.plan, t.created_at
