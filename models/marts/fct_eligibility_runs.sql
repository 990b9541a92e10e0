{{
    config(
        materialized='incremental',
        unique_key='snapshot_id',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
    )
}}

-- One row per eligibility computation (first result and batch re-runs), loaded
-- incrementally: each run only adds snapshots newer than the newest one already here,
-- with a look-back window for late-arriving rows.
with results as (
    select
        snapshot_id,
        count(*) filter (where is_eligible) as eligible_program_count,
        count(*) as evaluated_program_count,
        sum(estimated_annual_value) as total_estimated_annual_value
    from {{ ref('stg_program_eligibility') }}
    group by snapshot_id
)

select
    es.snapshot_id,
    s.white_label_id,
    es.screen_id,
    es.snapshot_at,
    es.is_batch,
    r.eligible_program_count,
    r.evaluated_program_count,
    r.total_estimated_annual_value
from {{ ref('stg_eligibility_snapshots') }} as es
inner join {{ ref('stg_screens') }} as s on s.screen_id = es.screen_id
inner join results as r on r.snapshot_id = es.snapshot_id
where {{ exclude_test_screens('s.is_test') }}
    and {{ white_label_filter('s.white_label_id') }}
{% if is_incremental() %}
    and es.snapshot_at > (
        select coalesce(max(snapshot_at), '1900-01-01'::timestamp) - interval '{{ var("incremental_lookback_days") }} days'
        from {{ this }}
    )
{% endif %}
