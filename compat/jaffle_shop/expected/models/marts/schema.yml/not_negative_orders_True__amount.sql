

select amount
from "postgres"."jaffle_marts"."orders"
where amount < 0

