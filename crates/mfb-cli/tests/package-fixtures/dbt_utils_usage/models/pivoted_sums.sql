select
    customer_id,
    {{ dbt_utils.pivot('status', ['placed', 'shipped'], agg='sum', then_value='amount', else_value=0, prefix='amt_') }}
from {{ ref('orders') }}
group by customer_id
