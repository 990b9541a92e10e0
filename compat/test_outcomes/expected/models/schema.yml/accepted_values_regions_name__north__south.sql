
    
    

with all_values as (

    select
        name as value_field,
        count(*) as n_records

    from "postgres"."outcomes"."regions"
    group by name

)

select *
from all_values
where value_field not in (
    'north','south'
)


