{%- set regions = fromyaml('[EU, NA, APAC]') -%}
{%- set unique_tags = set(['b', 'a', 'b']) -%}
{%- set sources_seen = [] -%}
{%- for src in graph.sources.values() | sort(attribute='name') -%}
    {%- do sources_seen.append(src.source_name ~ '.' ~ src.name) -%}
{%- endfor -%}
{%- do exceptions.warn('account_summary compiles with ' ~ regions | length ~ ' regions') -%}

-- built as {{ this }} ({{ this.identifier }}); sources: {{ sources_seen | join(', ') }}
-- {{ unique_tags | length }} distinct tags; key {{ local_md5('account_summary') }}
-- settings: {{ toyaml({'regions': regions}) | trim }}
{% raw %}-- this {{ is not rendered }} {% neither is this %}{% endraw %}
select
    country_code,
    count(*) as accounts
    {%- for region in regions %},
    count(*) filter (where country_code in (select code from {{ ref('countries') }} where region = '{{ region }}')) as {{ region | lower }}_accounts
    {%- endfor %}
from {{ ref('accounts') }}
group by country_code
having count(*) <= (select max(countries) from {{ ref('region_counts') }})
