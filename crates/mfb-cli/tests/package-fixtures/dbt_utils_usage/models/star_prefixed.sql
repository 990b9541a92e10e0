select {{ dbt_utils.star(from=ref('customers'), relation_alias='c', prefix='cust_', suffix='_x', except=['email']) }}
from {{ ref('customers') }} as c
