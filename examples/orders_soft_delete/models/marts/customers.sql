-- Every customer of every merchant, soft-deleted and inactive ones included (the RLS
-- policy's additional filters hide those from merchants).
select customer_id, tenant_key, customer_name, is_active, deleted_at
from {{ ref('stg_customers') }}
