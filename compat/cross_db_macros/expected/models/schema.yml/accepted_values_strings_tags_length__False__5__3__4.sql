
    
    

with all_values as (

    select
        tags_length as value_field,
        count(*) as n_records

    from (select * from "postgres"."xdb"."strings" where event_id < 3) dbt_subquery
    group by tags_length

)

select *
from all_values
where value_field not in (
    5,3,4
)


