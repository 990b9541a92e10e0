
select * from "postgres"."outcomes"."accounts"
where balance < 0
