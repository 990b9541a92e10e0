-- A household is only ever evaluated for programs its own partner offers.
select fpe.program_eligibility_id, fpe.white_label_id, p.white_label_id as program_white_label_id
from {{ ref('fct_program_eligibility') }} as fpe
inner join {{ ref('dim_programs') }} as p on p.program_id = fpe.program_id
where p.white_label_id <> fpe.white_label_id
