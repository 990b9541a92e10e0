with source as (
    select * from (values
        (1, ' alice ', 30),
        (2, 'bob', 3),
        (3, null, 12)
    ) as t (customer_id, name, score)
)

select
    md5(cast(coalesce(cast(customer_id as TEXT), '_null_') || '-' || coalesce(cast(name as TEXT), '_null_') as TEXT)) as customer_key,
    customer_id,
    initcap(trim(name)) as name_label,
    score,
    -- root scope: utils_threshold is scoped to compat_utils, so the default applies
    score >= 5 as above_threshold,
    'root global label' as label
from source