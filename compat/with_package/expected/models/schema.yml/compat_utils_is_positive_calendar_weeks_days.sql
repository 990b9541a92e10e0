
select days
from (select * from "postgres"."pkg"."calendar_weeks" where week_start >= '2024-01-01') dbt_subquery
where days <= 0
