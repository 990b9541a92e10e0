-- Every order, soft-deleted and inactive ones included (hidden from merchants by RLS).
select order_id, tenant_key, customer_id, ordered_at, ordered_at::date as order_date, amount, status, is_active, deleted_at
from {{ ref('stg_orders') }}
