{{
    config(
        indexes=[
            {'columns': ['white_label_id', 'created_at']},
            {'columns': ['screen_id'], 'unique': true},
        ]
    )
}}

-- One row per screen started on a partner site, test traffic excluded.
with eligibility as (
    select
        screen_id,
        count(*) filter (where is_eligible) as eligible_program_count,
        sum(estimated_annual_value) as total_estimated_annual_value
    from {{ ref('fct_program_eligibility') }}
    group by screen_id
)

select
    s.screen_id,
    s.white_label_id,
    s.created_at,
    s.submitted_at,
    s.is_submitted,
    date_trunc('week', s.created_at)::date as created_week,
    s.zipcode,
    s.county,
    s.household_size,
    h.member_count,
    h.child_count,
    h.senior_count,
    h.has_disabled_member,
    s.household_assets,
    h.monthly_income,
    h.monthly_earned_income,
    h.monthly_expenses,
    round(100.0 * h.monthly_income / {{ monthly_poverty_line('s.household_size') }}, 1) as poverty_line_percent,
    s.referrer_code,
    s.language_code,
    coalesce(e.eligible_program_count, 0) as eligible_program_count,
    coalesce(e.total_estimated_annual_value, 0) as total_estimated_annual_value
from {{ ref('stg_screens') }} as s
inner join {{ ref('int_households') }} as h on h.screen_id = s.screen_id
left join eligibility as e on e.screen_id = s.screen_id
where {{ exclude_test_screens('s.is_test') }}
    and {{ white_label_filter('s.white_label_id') }}
