
    
    



select payment_id
from "postgres"."jaffle"."stg_payments"
where payment_id is null


