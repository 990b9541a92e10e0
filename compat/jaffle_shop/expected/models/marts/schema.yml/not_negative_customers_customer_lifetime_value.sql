

select customer_lifetime_value
from "postgres"."jaffle_marts"."customers"
where customer_lifetime_value < 0
   or customer_lifetime_value is null

