
    
    



select region_id
from "postgres"."outcomes"."accounts"
where region_id is null


