
    
    

with all_values as (

    select
        number_count as value_field,
        count(*) as n_records

    from "postgres"."jinja"."introspection"
    group by number_count

)

select *
from all_values
where value_field not in (
    3
)


