
    
    



select account_id
from "postgres"."outcomes"."accounts"
where account_id is null


