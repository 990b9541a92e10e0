select {{ dbt_utils.star(from=ref('orders'), except=['amount']) }}
from {{ ref('orders') }}
