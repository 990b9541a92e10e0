
    
    



select account_id
from "postgres"."analytics"."dim_accounts_v2"
where account_id is null


