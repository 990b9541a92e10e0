select
    {{ dbt_utils.generate_surrogate_key(['order_id', 'status']) }} as order_key,
    {{ dbt_utils.generate_surrogate_key(['customer_id']) }} as customer_key,
    order_id
from {{ ref('orders') }}
