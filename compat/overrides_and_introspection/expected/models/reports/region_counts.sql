-- aliased by the project's generate_alias_name: rpt_region_counts
select region, count(*) as countries
from "ovr"."countries"
group by region