{{
    config(
        materialized='incremental',
        unique_key='event_id',
        incremental_strategy='delete+insert',
        tags=['hourly'],
        post_hook=["grant select on {{ this }} to public"]
    )
}}

select
    event_id,
    user_id,
    event_type,
    occurred_at
from {{ ref('stg_events') }}
{% if is_incremental() %}
where occurred_at > (
    select coalesce(max(occurred_at), '1900-01-01'::timestamp) - interval '{{ var("lookback_days") }} days'
    from {{ this }}
)
{% endif %}
