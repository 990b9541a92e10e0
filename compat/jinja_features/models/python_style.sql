{%- set raw = 'Revenue, Cost ,margin' -%}
{%- set parts = [] -%}
{%- for p in raw.split(',') -%}
    {%- do parts.append(p.strip().lower()) -%}
{%- endfor -%}
{%- set config_json = '{"limit": 10, "flags": ["a", "b"], "nested": {"k": "v"}}' -%}
{%- set parsed = fromjson(config_json) -%}
{%- set day = modules.datetime.date(2024, 2, 28) -%}
{%- set next_day = day + modules.datetime.timedelta(days=1) -%}
{%- set labels = ['first', 'second', 'third'] -%}

-- parts: {{ parts }}
-- starts with rev: {{ parts[0].startswith('rev') }}, title: {{ raw.split(',')[1].strip().title() }}
-- parsed limit: {{ parsed['limit'] }}, flags: {{ parsed.flags | join('|') }}, nested: {{ parsed.get('nested').get('k') }}, missing: {{ parsed.get('missing', 'none') }}
-- day: {{ day.strftime('%Y-%m-%d') }}, next: {{ next_day.isoformat() }}, year: {{ day.year }}
-- replaced: {{ 'a-b-c'.replace('-', '_') }}, upper: {{ 'abc'.upper() }}, index: {{ labels.index('second') }}
-- regex: {{ modules.re.sub('[^a-z]', '', 'a1b2c3') }}

select
{%- for label, part in zip(labels, parts) %}
    '{{ part }}' as {{ label }}_part,
{%- endfor %}
    {{ dbt.date(2024, 2, 29) }} as leap_day,
    {{ dbt.dateadd('day', 1, "'" ~ day.isoformat() ~ "'::date") }} as next_day
