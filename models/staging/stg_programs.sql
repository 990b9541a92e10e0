select
    id as program_id,
    white_label_id,
    name_abbreviated as program_code,
    name as program_name,
    category as program_category,
    active as is_active,
    estimated_delivery_weeks
from {{ ref('raw_programs') }}
