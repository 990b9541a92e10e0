
select * from "postgres"."outcomes"."accounts" where plan = 'pro' and closed_at is not null