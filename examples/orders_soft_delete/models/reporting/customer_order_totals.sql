-- Order totals per customer. A security_invoker view: a merchant sees the totals of its
-- own live orders and customers; an admin sees every row, deleted ones included.
select
    c.tenant_key,
    c.customer_id,
    c.customer_name,
    count(o.order_id) as orders,
    coalesce(sum(o.amount), 0) as total_amount
from {{ ref('customers') }} as c
left join {{ ref('orders') }} as o on o.customer_id = c.customer_id
group by c.tenant_key, c.customer_id, c.customer_name
