with events as (
    select * from (values
        (1, 'a,b,c', 'alpha', true, '2024-01-31 10:15:30'::timestamp, '2024-03-01 08:00:00'::timestamp, 125),
        (2, 'x,y', 'beta', false, '2023-12-25 23:59:59'::timestamp, '2024-01-01 00:00:01'::timestamp, 80),
        (3, 'solo', null, null, '2024-02-29 12:00:00'::timestamp, '2024-02-29 12:00:00'::timestamp, 0)
    ) as t (event_id, tags, label, flag, started_at, ended_at, amount_cents)
)

select
    
    string_agg(
        label,
        ','
        
        ) as labels_default,
    
    string_agg(
        label,
        ', '
        order by event_id
        ) as labels_ordered,
    array_to_string(
        (array_agg(
            label
            order by event_id desc
        ))[1:2],
        '; '
        ) as labels_first_two,
    array_to_string(
        (array_agg(
            tags
            
        ))[1:1],
        ' / '
        ) as tags_one,
    min(label) as some_label,
    bool_or(flag) as any_flag,
    (min(event_id) = max(event_id))
 as single_event
from events