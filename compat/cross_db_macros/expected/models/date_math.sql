with events as (
    select * from (values
        (1, 'a,b,c', 'alpha', true, '2024-01-31 10:15:30'::timestamp, '2024-03-01 08:00:00'::timestamp, 125),
        (2, 'x,y', 'beta', false, '2023-12-25 23:59:59'::timestamp, '2024-01-01 00:00:01'::timestamp, 80),
        (3, 'solo', null, null, '2024-02-29 12:00:00'::timestamp, '2024-02-29 12:00:00'::timestamp, 0)
    ) as t (event_id, tags, label, flag, started_at, ended_at, amount_cents)
)

select
    event_id,
    
        (date_part('year', (ended_at)::date) - date_part('year', (started_at)::date))
     as diff_years,
    
        (
        (date_part('year', (ended_at)::date) - date_part('year', (started_at)::date))
     * 4 + date_part('quarter', (ended_at)::date) - date_part('quarter', (started_at)::date))
     as diff_quarters,
    
        (
        (date_part('year', (ended_at)::date) - date_part('year', (started_at)::date))
     * 12 + date_part('month', (ended_at)::date) - date_part('month', (started_at)::date))
     as diff_months,
    
        (
        ((ended_at)::date - (started_at)::date)
     / 7 + case
            when date_part('dow', (started_at)::timestamp) <= date_part('dow', (ended_at)::timestamp) then
                case when started_at <= ended_at then 0 else -1 end
            else
                case when started_at <= ended_at then 1 else 0 end
        end)
     as diff_weeks,
    
        ((ended_at)::date - (started_at)::date)
     as diff_days,
    
        (
        ((ended_at)::date - (started_at)::date)
     * 24 + date_part('hour', (ended_at)::timestamp) - date_part('hour', (started_at)::timestamp))
     as diff_hours,
    
        (
        (
        ((ended_at)::date - (started_at)::date)
     * 24 + date_part('hour', (ended_at)::timestamp) - date_part('hour', (started_at)::timestamp))
     * 60 + date_part('minute', (ended_at)::timestamp) - date_part('minute', (started_at)::timestamp))
     as diff_minutes,
    
        (
        (
        (
        ((ended_at)::date - (started_at)::date)
     * 24 + date_part('hour', (ended_at)::timestamp) - date_part('hour', (started_at)::timestamp))
     * 60 + date_part('minute', (ended_at)::timestamp) - date_part('minute', (started_at)::timestamp))
     * 60 + floor(date_part('second', (ended_at)::timestamp)) - floor(date_part('second', (started_at)::timestamp)))
     as diff_seconds,
    
        (
        (
        (
        ((ended_at)::date - (started_at)::date)
     * 24 + date_part('hour', (ended_at)::timestamp) - date_part('hour', (started_at)::timestamp))
     * 60 + date_part('minute', (ended_at)::timestamp) - date_part('minute', (started_at)::timestamp))
     * 60000 + floor(date_part('millisecond', (ended_at)::timestamp)) - floor(date_part('millisecond', (started_at)::timestamp)))
     as diff_milliseconds,
    
        (
        (
        (
        ((ended_at)::date - (started_at)::date)
     * 24 + date_part('hour', (ended_at)::timestamp) - date_part('hour', (started_at)::timestamp))
     * 60 + date_part('minute', (ended_at)::timestamp) - date_part('minute', (started_at)::timestamp))
     * 60000000 + floor(date_part('microsecond', (ended_at)::timestamp)) - floor(date_part('microsecond', (started_at)::timestamp)))
     as diff_microseconds,
    

    started_at + ((interval '1 day') * (7))

 as week_later,
    

    started_at + ((interval '1 month') * (-1))

 as month_earlier,
    

    started_at + ((interval '1 hour') * (event_id))

 as hours_later,
    date_trunc('month', started_at) as month_start,
    date_trunc('week', started_at) as week_start,
    cast(
        

    

    date_trunc('month', started_at) + ((interval '1 month') * (1))

 + ((interval '1 day') * (-1))


        as date) as month_end,
    -- postgres dateadd does not support quarter interval.
    cast(
        

    

    date_trunc('quarter', started_at) + ((interval '1 month') * (3))

 + ((interval '1 day') * (-1))


        as date) as quarter_end,
    cast(
        

    

    date_trunc('year', started_at) + ((interval '1 year') * (1))

 + ((interval '1 day') * (-1))


        as date) as year_end,
    to_date('2024-02-29', 'YYYY-MM-DD') as leap_day,
    now() as compiled_now,
    
    current_timestamp::timestamp
 as now_backcompat,
    
    (current_timestamp at time zone 'utc')::timestamp
 as now_utc,
    now()::timestamp without time zone as snapshot_time
from events