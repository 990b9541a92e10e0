
    
    

with all_values as (

    select
        plan as value_field,
        count(*) as n_records

    from "postgres"."outcomes"."accounts"
    group by plan

)

select *
from all_values
where value_field not in (
    'free','pro'
)


