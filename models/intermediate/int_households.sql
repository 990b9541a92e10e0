-- One row per screen: who lives in the household and what it earns and spends each month.
with members as (
    select
        screen_id,
        count(*) as member_count,
        count(*) filter (where age < 18) as child_count,
        count(*) filter (where age >= 60) as senior_count,
        bool_or(is_disabled) as has_disabled_member,
        bool_or(is_pregnant) as has_pregnant_member,
        bool_or(is_veteran) as has_veteran_member
    from {{ ref('stg_household_members') }}
    group by screen_id
),

incomes as (
    select
        screen_id,
        sum(monthly_amount) as monthly_income,
        sum(monthly_amount) filter (where is_earned) as monthly_earned_income
    from {{ ref('int_incomes_monthly') }}
    group by screen_id
),

expenses as (
    select
        screen_id,
        sum(monthly_amount) as monthly_expenses,
        sum(monthly_amount) filter (where expense_type in ('rent', 'mortgage')) as monthly_housing_cost
    from {{ ref('int_expenses_monthly') }}
    group by screen_id
)

select
    s.screen_id,
    coalesce(m.member_count, 0) as member_count,
    coalesce(m.child_count, 0) as child_count,
    coalesce(m.senior_count, 0) as senior_count,
    coalesce(m.has_disabled_member, false) as has_disabled_member,
    coalesce(m.has_pregnant_member, false) as has_pregnant_member,
    coalesce(m.has_veteran_member, false) as has_veteran_member,
    coalesce(i.monthly_income, 0) as monthly_income,
    coalesce(i.monthly_earned_income, 0) as monthly_earned_income,
    coalesce(e.monthly_expenses, 0) as monthly_expenses,
    coalesce(e.monthly_housing_cost, 0) as monthly_housing_cost
from {{ ref('stg_screens') }} as s
left join members as m on m.screen_id = s.screen_id
left join incomes as i on i.screen_id = s.screen_id
left join expenses as e on e.screen_id = s.screen_id
