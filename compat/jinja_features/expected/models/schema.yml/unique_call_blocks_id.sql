
    
    

select
    id as unique_field,
    count(*) as n_records

from "postgres"."jinja"."call_blocks"
where id is not null
group by id
having count(*) > 1


