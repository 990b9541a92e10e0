{#- amounts are stored in cents -#}
{% set cents_to_dollars_sql %}
    amount / 100.0
{% endset %}

with source as (

    select * from {{ source('shop', 'payments') }}

),

renamed as (

    select
        id as payment_id,
        order_id,
        payment_method,
        {{ cents_to_dollars_sql | trim }} as amount,
        {{ cents_to_dollars('amount', scale=0) }} as amount_rounded
    from source

)

select * from renamed
