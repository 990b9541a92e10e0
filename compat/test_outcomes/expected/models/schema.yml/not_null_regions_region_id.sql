
    
    



select region_id
from "postgres"."outcomes"."regions"
where region_id is null


