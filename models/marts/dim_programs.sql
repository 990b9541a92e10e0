select
    program_id,
    white_label_id,
    program_code,
    program_name,
    program_category,
    is_active,
    estimated_delivery_weeks
from {{ ref('stg_programs') }}
where {{ white_label_filter('white_label_id') }}
