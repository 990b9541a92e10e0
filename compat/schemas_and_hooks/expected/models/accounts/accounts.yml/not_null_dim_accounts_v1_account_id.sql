
    
    



select account_id
from "postgres"."analytics"."dim_accounts_v1"
where account_id is null


