
    
    



select customer_id
from "postgres"."jaffle_marts"."orders"
where customer_id is null


