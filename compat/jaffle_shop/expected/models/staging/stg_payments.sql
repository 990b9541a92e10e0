

with source as (

    select * from "postgres"."jaffle_raw"."raw_payments"

),

renamed as (

    select
        id as payment_id,
        order_id,
        payment_method,
        amount / 100.0 as amount,
        round((amount / 100.0)::numeric, 0) as amount_rounded
    from source

)

select * from renamed