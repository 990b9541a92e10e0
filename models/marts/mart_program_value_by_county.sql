-- Which programs bring how much estimated value to which county, per partner.
select
    fpe.white_label_id,
    coalesce(fpe.county, 'Unknown') as county,
    fpe.program_id,
    p.program_code,
    p.program_category,
    count(*) as screens_evaluated,
    count(*) filter (where fpe.is_eligible) as eligible_screens,
    sum(fpe.estimated_annual_value) as total_estimated_annual_value,
    round(avg(fpe.estimated_annual_value) filter (where fpe.is_eligible), 2) as avg_estimated_annual_value
from {{ ref('fct_program_eligibility') }} as fpe
inner join {{ ref('dim_programs') }} as p on p.program_id = fpe.program_id
group by fpe.white_label_id, coalesce(fpe.county, 'Unknown'), fpe.program_id, p.program_code, p.program_category
