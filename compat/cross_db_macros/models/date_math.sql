{%- set dateparts = ['year', 'quarter', 'month', 'week', 'day', 'hour', 'minute', 'second', 'millisecond', 'microsecond'] -%}
with {{ events_cte() }}

select
    event_id,
    {%- for part in dateparts %}
    {{ dbt.datediff('started_at', 'ended_at', part) }} as diff_{{ part }}s,
    {%- endfor %}
    {{ dbt.dateadd('day', 7, 'started_at') }} as week_later,
    {{ dbt.dateadd(datepart='month', interval=-1, from_date_or_timestamp='started_at') }} as month_earlier,
    {{ dbt.dateadd('hour', 'event_id', 'started_at') }} as hours_later,
    {{ dbt.date_trunc('month', 'started_at') }} as month_start,
    {{ dbt.date_trunc('week', 'started_at') }} as week_start,
    {{ dbt.last_day('started_at', 'month') }} as month_end,
    {{ dbt.last_day('started_at', 'quarter') }} as quarter_end,
    {{ dbt.last_day('started_at', 'year') }} as year_end,
    {{ dbt.date(2024, 2, 29) }} as leap_day,
    {{ dbt.current_timestamp() }} as compiled_now,
    {{ dbt.current_timestamp_backcompat() }} as now_backcompat,
    {{ dbt.current_timestamp_in_utc_backcompat() }} as now_utc,
    {{ dbt.snapshot_get_time() }} as snapshot_time
from events
