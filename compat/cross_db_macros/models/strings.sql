with {{ events_cte() }}

select
    event_id,
    {{ dbt.concat(['label', "'-'", 'cast(event_id as text)']) }} as label_id,
    {{ dbt.hash('label') }} as label_hash,
    {{ dbt.split_part('tags', "','", 1) }} as first_tag,
    {{ dbt.split_part('tags', "','", -1) }} as last_tag,
    {{ dbt.position("'b'", 'tags') }} as b_position,
    {{ dbt.length('tags') }} as tags_length,
    {{ dbt.replace('tags', "','", "'|'") }} as piped_tags,
    {{ dbt.right('tags', 2) }} as tags_tail,
    {{ dbt.string_literal(dbt.escape_single_quotes("it's")) }} as quoted,
    {{ dbt.cast_bool_to_text('flag') }} as flag_text,
    {{ dbt.safe_cast('amount_cents', dbt.type_numeric()) }} as amount_numeric,
    {{ dbt.cast('event_id', dbt.type_bigint()) }} as event_id_big,
    cast(null as {{ dbt.type_string() }}) as null_string,
    cast(null as {{ dbt.type_timestamp() }}) as null_timestamp,
    cast(null as {{ dbt.type_int() }}) as null_int,
    cast(null as {{ dbt.type_float() }}) as null_float,
    cast(null as {{ dbt.type_boolean() }}) as null_boolean
from events
