-- parts: ['revenue', 'cost', 'margin']
-- starts with rev: True, title: Cost
-- parsed limit: 10, flags: a|b, nested: v, missing: none
-- day: 2024-02-28, next: 2024-02-29, year: 2024
-- replaced: a_b_c, upper: ABC, index: 1
-- regex: abc

select
    'revenue' as first_part,
    'cost' as second_part,
    'margin' as third_part,
    to_date('2024-02-29', 'YYYY-MM-DD') as leap_day,
    

    '2024-02-28'::date + ((interval '1 day') * (1))

 as next_day