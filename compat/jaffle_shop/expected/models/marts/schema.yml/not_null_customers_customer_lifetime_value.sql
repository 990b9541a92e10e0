
    
    



select customer_lifetime_value
from (select * from "postgres"."jaffle_marts"."customers" where number_of_orders > 0) dbt_subquery
where customer_lifetime_value is null


