select
    order_id,
    {{ dbt_utils.safe_divide('amount', 'customer_id - 10') }} as per_customer,
    {{ dbt_utils.safe_add(['amount', 'customer_id']) }} as added,
    {{ dbt_utils.safe_subtract(['amount', 'customer_id']) }} as subtracted
from {{ ref('orders') }}
