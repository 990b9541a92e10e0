with source as (

    select * from "postgres"."jaffle_raw"."raw_orders"

),

renamed as (

    select
        id as order_id,
        user_id as customer_id,
        order_date,
        date_trunc('month', order_date) as order_month,
        status
    from source

)

select * from renamed