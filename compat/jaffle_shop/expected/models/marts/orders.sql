

with  __dbt__cte__order_payments as (




select
    order_id,
    sum(case when payment_method = 'credit_card' then amount else 0 end) as credit_card_amount,
    sum(case when payment_method = 'coupon' then amount else 0 end) as coupon_amount,
    sum(case when payment_method = 'bank_transfer' then amount else 0 end) as bank_transfer_amount,
    sum(case when payment_method = 'gift_card' then amount else 0 end) as gift_card_amount,
    sum(amount) as total_amount
from "postgres"."jaffle"."stg_payments"
group by order_id
), orders as (

    select * from "postgres"."jaffle"."stg_orders"

),

order_payments as (

    select * from __dbt__cte__order_payments

),

final as (

    select
        orders.order_id,
        orders.customer_id,
        orders.order_date,
        orders.status,
        order_payments.credit_card_amount,
        order_payments.coupon_amount,
        order_payments.bank_transfer_amount,
        order_payments.gift_card_amount,
        order_payments.total_amount as amount,
        
        ((cast(
        

    

    date_trunc('month', orders.order_date) + ((interval '1 month') * (1))

 + ((interval '1 day') * (-1))


        as date))::date - (orders.order_date)::date)
     as days_to_month_end
    from orders
    left join order_payments
        on orders.order_id = order_payments.order_id

)

select * from final