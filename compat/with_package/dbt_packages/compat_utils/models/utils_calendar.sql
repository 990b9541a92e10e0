-- threshold={{ var('utils_threshold') }} label={{ var('utils_label') }} only={{ var('utils_only_here') }}
{{ dbt.date_spine('day', var('calendar_start'), var('calendar_end')) }}
