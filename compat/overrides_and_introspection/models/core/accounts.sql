{{ config(meta={'pii': true}) }}

-- model {{ model.name }} ({{ model.unique_id }}), materialized as {{ model.config.materialized }}
-- owner {{ config.get('meta')['owner'] }}, pii {{ config.get('meta')['pii'] }}
-- quoted column {{ adapter.quote('AccountName') }}
select
    a.id as account_id,
    a.{{ adapter.quote('AccountName') }} as account_name,
    c.code as country_code
from {{ source('legacy', 'accounts') }} as a
left join {{ ref('countries') }} as c
    on c.code = a.country
