
    
    



select id
from "postgres"."jinja"."call_blocks"
where id is null


