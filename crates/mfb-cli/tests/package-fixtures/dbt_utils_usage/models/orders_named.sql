select * from {{ ref('orders_wide') }}
