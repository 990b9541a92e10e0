
    
    



select order_id
from "postgres"."jaffle"."stg_orders"
where order_id is null


