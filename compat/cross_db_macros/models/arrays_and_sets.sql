with {{ events_cte() }}

select
    {{ dbt.array_construct(['1', '2', '3']) }} as int_array,
    {{ dbt.array_construct([], 'text') }} as empty_text_array,
    {{ dbt.array_construct() }} as empty_default_array,
    {{ dbt.array_append(dbt.array_construct(['event_id']), 'amount_cents') }} as appended,
    {{ dbt.array_concat('array[1]', 'array[2, 3]') }} as concatenated
from events
where event_id = 1

{{ dbt.except() }}

select array[0], array[]::text[], array[]::integer[], array[0, 0], array[0]

{{ dbt.intersect() }}

select array[0], array[]::text[], array[]::integer[], array[0, 0], array[0]
