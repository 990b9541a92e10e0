with events as (
    select * from (values
        (1, 'a,b,c', 'alpha', true, '2024-01-31 10:15:30'::timestamp, '2024-03-01 08:00:00'::timestamp, 125),
        (2, 'x,y', 'beta', false, '2023-12-25 23:59:59'::timestamp, '2024-01-01 00:00:01'::timestamp, 80),
        (3, 'solo', null, null, '2024-02-29 12:00:00'::timestamp, '2024-02-29 12:00:00'::timestamp, 0)
    ) as t (event_id, tags, label, flag, started_at, ended_at, amount_cents)
)

select
    event_id,
    label || '-' || cast(event_id as text) as label_id,
    md5(cast(label as TEXT)) as label_hash,
    

  
    

    split_part(
        tags,
        ',',
        1
        )


  

 as first_tag,
    

  
    

    split_part(
        tags,
        ',',
          length(tags)
          - length(
              replace(tags,  ',', '')
          ) + 2 + -1
        )


  

 as last_tag,
    

    position(
        'b' in tags
    ) as b_position,
    

    length(
        tags
    ) as tags_length,
    

    replace(
        tags,
        ',',
        '|'
    )


 as piped_tags,
    

    right(
        tags,
        2
    ) as tags_tail,
    'it''s' as quoted,
    
  
    cast(flag as TEXT)

 as flag_text,
    
    
    cast(amount_cents as numeric(28,6))
 as amount_numeric,
    
    cast(event_id as bigint)
 as event_id_big,
    cast(null as TEXT) as null_string,
    cast(null as timestamp) as null_timestamp,
    cast(null as integer) as null_int,
    cast(null as float) as null_float,
    cast(null as boolean) as null_boolean
from events