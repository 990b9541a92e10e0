
    
    



select order_id
from "postgres"."jaffle_marts"."orders"
where order_id is null


