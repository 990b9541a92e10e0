select
    id as white_label_id,
    lower(trim(code)) as white_label_code,
    name as white_label_name,
    upper(state_code) as state_code,
    launched_at,
    is_active
from {{ ref('raw_white_labels') }}
