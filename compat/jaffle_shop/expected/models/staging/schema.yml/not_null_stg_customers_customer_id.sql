
    
    



select customer_id
from "postgres"."jaffle"."stg_customers"
where customer_id is null


