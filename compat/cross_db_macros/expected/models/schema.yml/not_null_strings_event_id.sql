
    
    



select *
from "postgres"."xdb"."strings"
where event_id is null


