select * from {{ ref('regions') }} where name is null
