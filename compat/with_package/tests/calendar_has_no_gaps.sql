select date_day
from {{ ref('utils_calendar') }}
where date_day + 1 not in (select date_day from {{ ref('utils_calendar') }})
  and date_day < {{ var('calendar_start') }}::date + 13
