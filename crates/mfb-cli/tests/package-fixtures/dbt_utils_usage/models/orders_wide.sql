{{ config(materialized='ephemeral') }}
select {{ dbt_utils.star(ref('orders'), relation_alias='o') }}, c.name
from {{ ref('orders') }} as o
join {{ ref('customers') }} as c using (customer_id)
