with {{ events_cte() }}

select
    {{ dbt.listagg('label') }} as labels_default,
    {{ dbt.listagg('label', "', '", 'order by event_id') }} as labels_ordered,
    {{ dbt.listagg('label', "'; '", 'order by event_id desc', 2) }} as labels_first_two,
    {{ dbt.listagg(measure='tags', delimiter_text="' / '", limit_num=1) }} as tags_one,
    {{ dbt.any_value('label') }} as some_label,
    {{ dbt.bool_or('flag') }} as any_flag,
    {{ dbt.equals('min(event_id)', 'max(event_id)') }} as single_event
from events
