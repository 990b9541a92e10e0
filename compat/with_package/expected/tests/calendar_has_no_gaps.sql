select date_day
from "postgres"."pkg_utils"."utils_calendar"
where date_day + interval '1 day' not in (select date_day from "postgres"."pkg_utils"."utils_calendar")
  and date_day < '2024-01-01'::date + 13