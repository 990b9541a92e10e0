
select *
from "postgres"."jinja"."introspection"
where not (answer = 42)
