
    
    

with child as (
    select event_id as from_field
    from (select * from "postgres"."xdb"."date_math" where event_id > 1) dbt_subquery
    where event_id is not null
),

parent as (
    select event_id as to_field
    from "postgres"."xdb"."strings"
)

select
    from_field

from child
left join parent
    on child.from_field = parent.to_field

where parent.to_field is null


