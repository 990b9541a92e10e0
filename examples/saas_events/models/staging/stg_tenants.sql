select
    tenant_id,
    tenant_name,
    plan,
    created_at
from {{ ref('raw_tenants') }}
where {{ tenant_filter('tenant_id') }}
