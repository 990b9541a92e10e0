
    
    

with all_values as (

    select
        event_type as value_field,
        count(*) as n_records

    from (select * from "postgres"."analytics_marts"."fct_events" where occurred_at >= '2024-01-01') dbt_subquery
    group by event_type

)

select *
from all_values
where value_field not in (
    'signup','login','purchase'
)


