with events as (
    select * from (values
        (1, 'a,b,c', 'alpha', true, '2024-01-31 10:15:30'::timestamp, '2024-03-01 08:00:00'::timestamp, 125),
        (2, 'x,y', 'beta', false, '2023-12-25 23:59:59'::timestamp, '2024-01-01 00:00:01'::timestamp, 80),
        (3, 'solo', null, null, '2024-02-29 12:00:00'::timestamp, '2024-02-29 12:00:00'::timestamp, 0)
    ) as t (event_id, tags, label, flag, started_at, ended_at, amount_cents)
)

select
    
    array[ 1 , 2 , 3 ]
     as int_array,
    
    array[]::text[]
     as empty_text_array,
    
    array[]::integer[]
     as empty_default_array,
    array_append(
    array[ event_id ]
    , amount_cents) as appended,
    array_cat(array[1], array[2, 3]) as concatenated
from events
where event_id = 1



    except



select array[0], array[]::text[], array[]::integer[], array[0, 0], array[0]



    intersect



select array[0], array[]::text[], array[]::integer[], array[0, 0], array[0]