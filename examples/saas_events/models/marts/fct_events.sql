{{
    config(
        materialized='incremental',
        unique_key='event_id',
        incremental_strategy='merge',
        indexes=[{'columns': ['tenant_id', 'occurred_at']}],
    )
}}

-- One row per product event. Each run adds the events newer than the newest one here; the
-- RLS policy (from dbt_project.yml) is re-applied in the same transaction as the new rows.
select
    event_id,
    tenant_id,
    user_id,
    event_name,
    occurred_at,
    event_date
from {{ ref('stg_events') }}
{% if is_incremental() %}
where occurred_at > (select coalesce(max(occurred_at), '1900-01-01'::timestamp) from {{ this }})
{% endif %}
