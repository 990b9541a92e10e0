select customer_id, status, count(*) as n, sum(amount) as total
from {{ ref('orders') }}
{{ dbt_utils.group_by(2) }}
