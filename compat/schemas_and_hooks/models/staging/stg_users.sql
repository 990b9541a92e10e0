{{ config(schema='identity', alias='users', tags=['pii']) }}

select distinct user_id
from {{ ref('stg_events') }}
