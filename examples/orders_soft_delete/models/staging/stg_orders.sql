select
    order_id,
    lower(trim(tenant_key)) as tenant_key,
    customer_id,
    ordered_at,
    amount,
    status,
    is_active,
    deleted_at
from {{ ref('raw_orders') }}
