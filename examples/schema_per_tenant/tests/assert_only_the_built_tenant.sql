-- A tenant's schema holds that tenant's tickets only.
select ticket_id, tenant
from {{ ref('fct_tickets') }}
where not ({{ this_tenant('tenant') }})
