-- An order's merchant is its customer's merchant: tenant keys never cross.
select o.order_id, o.tenant_key, c.tenant_key as customer_tenant_key
from {{ ref('orders') }} as o
inner join {{ ref('customers') }} as c on c.customer_id = o.customer_id
where o.tenant_key <> c.tenant_key
