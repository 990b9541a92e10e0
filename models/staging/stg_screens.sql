select
    id as screen_id,
    white_label_id,
    created_at,
    submission_date as submitted_at,
    submission_date is not null as is_submitted,
    lpad(trim(zipcode), 5, '0') as zipcode,
    nullif(trim(county), '') as county,
    household_size,
    coalesce(household_assets, 0) as household_assets,
    coalesce(is_test, false) as is_test,
    -- partners type referrer codes by hand: ' 211CO' and '211co' are the same referrer
    nullif(lower(trim(referrer_code)), '') as referrer_code,
    lower(request_language_code) as language_code,
    agree_to_tos as agreed_to_terms,
    is_13_or_older
from {{ ref('raw_screens') }}
