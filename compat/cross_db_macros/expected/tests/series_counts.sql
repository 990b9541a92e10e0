select *
from "postgres"."xdb"."series"
where (kind = 'numbers' and n <> 12)
   or (kind = 'days' and n <> 7)