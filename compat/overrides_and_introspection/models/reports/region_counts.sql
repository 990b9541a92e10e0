-- aliased by the project's generate_alias_name: {{ this.identifier }}
select region, count(*) as countries
from {{ ref('countries') }}
group by region
