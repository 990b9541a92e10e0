{{ config(materialized='view') }}

select count(*) as users, sum(event_count) as events
from {{ ref('dim_users') }}
