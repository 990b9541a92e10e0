
    
    



select customer_id
from "postgres"."jaffle_marts"."customers"
where customer_id is null


