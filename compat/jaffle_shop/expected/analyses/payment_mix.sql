select payment_method, count(*) as payments
from "postgres"."jaffle"."stg_payments"
group by payment_method