
select score
from "postgres"."pkg"."customers"
where score <= 0
