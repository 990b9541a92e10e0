select
    customer_id,
    lower(trim(tenant_key)) as tenant_key,
    customer_name,
    is_active,
    deleted_at
from {{ ref('raw_customers') }}
