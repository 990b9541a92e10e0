with source as (
    select * from (values
        (1, ' alice ', 30),
        (2, 'bob', 3),
        (3, null, 12)
    ) as t (customer_id, name, score)
)

select
    {{ compat_utils.surrogate_key(['customer_id', 'name']) }} as customer_key,
    customer_id,
    {{ compat_utils.label_column('name') }} as name_label,
    score,
    -- root scope: utils_threshold is scoped to compat_utils, so the default applies
    {{ compat_utils.threshold_filter('score') }} as above_threshold,
    '{{ var("utils_label") }}' as label
from source
