select id as region_id, name from {{ ref('raw_regions') }}
