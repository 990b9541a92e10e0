
    
    



select *
from "postgres"."outcomes"."accounts"
where name is null


