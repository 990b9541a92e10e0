-- tenant_filter() keeps the internal QA account out of the marts.
select e.event_id, e.tenant_id
from {{ ref('fct_events') }} as e
inner join {{ ref('raw_tenants') }} as t on t.tenant_id = e.tenant_id
where t.is_internal
