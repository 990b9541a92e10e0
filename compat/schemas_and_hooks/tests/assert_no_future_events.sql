{{ config(tags=['freshness']) }}

select *
from {{ ref('fct_events') }}
where occurred_at > {{ dbt.current_timestamp() }}
