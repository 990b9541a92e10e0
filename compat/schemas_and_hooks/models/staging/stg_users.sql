{{ config(schema='identity', alias='users', tags=['pii']) }}

select distinct
    user_id,
    '{{ this }}' as built_in,
    '{{ this.schema }}.{{ this.identifier }}' as short_name
from {{ ref('stg_events') }}
