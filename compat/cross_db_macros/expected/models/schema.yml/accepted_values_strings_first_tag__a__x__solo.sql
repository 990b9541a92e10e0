
    
    

with all_values as (

    select
        first_tag as value_field,
        count(*) as n_records

    from "postgres"."xdb"."strings"
    group by first_tag

)

select *
from all_values
where value_field not in (
    'a','x','solo'
)


