select
    {{ dbt.date_trunc('week', 'date_day') }} as week_start,
    count(*) as days
from {{ ref('compat_utils', 'utils_calendar') }}
group by 1
