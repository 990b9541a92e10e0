{% set payment_methods = var('payment_methods') %}

with orders as (

    select * from {{ ref('stg_orders') }}

),

order_payments as (

    select * from {{ ref('order_payments') }}

),

final as (

    select
        orders.order_id,
        orders.customer_id,
        orders.order_date,
        orders.status,
        {% for payment_method in payment_methods -%}
        order_payments.{{ payment_method }}_amount,
        {% endfor -%}
        order_payments.total_amount as amount,
        {{ dbt.datediff('orders.order_date', dbt.last_day('orders.order_date', 'month'), 'day') }} as days_to_month_end
    from orders
    left join order_payments
        on orders.order_id = order_payments.order_id

)

select * from final
