select
    42 as answer,
    3 as number_count
    , 1 as n1
    , 2 as n2
    , 3 as n3