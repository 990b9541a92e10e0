select date_day
from {{ ref('utils_calendar') }}
where date_day + interval '1 day' not in (select date_day from {{ ref('utils_calendar') }})
  and date_day < {{ var('calendar_start') }} + 13
