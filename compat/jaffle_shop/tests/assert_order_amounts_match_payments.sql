-- Every order's amount equals the sum of its payments.
select
    orders.order_id,
    orders.amount,
    sum(payments.amount) as paid
from {{ ref('orders') }} as orders
join {{ ref('stg_payments') }} as payments
    on payments.order_id = orders.order_id
group by orders.order_id, orders.amount
having orders.amount <> sum(payments.amount)
