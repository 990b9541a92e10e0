//! The dbt Jinja features the runtime must support, each rendered through the real
//! runtime with built-in and project macros.

use std::collections::HashMap;
use std::sync::Arc;

use mfb_jinja::{
    JinjaValue as Value, MacroFile, NodeScope, Recorder, Relation, Resolver, RunOptions, Runtime,
};

struct Names;

impl Resolver for Names {
    fn resolve_ref(
        &self,
        package: Option<&str>,
        name: &str,
        _v: Option<&str>,
    ) -> Result<Relation, String> {
        if name == "missing" {
            return Err(format!("no model named `{name}`"));
        }
        Ok(Relation::new(
            "db",
            package.unwrap_or("analytics"),
            name,
            Some("table"),
        ))
    }
    fn resolve_source(&self, source: &str, table: &str) -> Result<Relation, String> {
        Ok(Relation::new("db", source, table, None))
    }
}

fn macro_file(package: &str, path: &str, source: &str) -> MacroFile {
    MacroFile {
        package: package.into(),
        path: path.into(),
        display_path: path.into(),
        source: Arc::from(source),
    }
}

fn runtime(files: &[(&str, &str, &str)]) -> Runtime {
    let mut all: Vec<MacroFile> = files
        .iter()
        .map(|(p, path, s)| macro_file(p, path, s))
        .collect();
    all.extend(mfb_jinja::builtin_macro_files());
    let mut dispatch = HashMap::new();
    dispatch.insert(
        "pkg_ns".to_owned(),
        vec!["proj".to_owned(), "other".to_owned()],
    );
    let (rt, errors) = Runtime::new("proj", dispatch, &all);
    assert!(errors.is_empty(), "macro errors: {errors:?}");
    rt
}

/// The invocation context of these tests: package `proj` has the var `cols`.
fn run_context(rt: &Runtime) -> Arc<mfb_jinja::RunContext> {
    let mut vars = HashMap::new();
    vars.insert(
        "proj".to_owned(),
        Arc::new(indexmap::IndexMap::from([(
            "cols".to_owned(),
            serde_json::json!(["a", "b"]),
        )])),
    );
    rt.run_context(RunOptions {
        vars,
        ..RunOptions::default()
    })
}

fn render(rt: &Runtime, src: &str) -> Result<String, mfb_jinja::JinjaError> {
    let run = run_context(rt);
    let scope = NodeScope::new("proj", Some("model.proj.m"))
        .resolve_with(Arc::new(Names))
        .config(None)
        .set("execute", Value::from(false));
    rt.render(&run, "models/m.sql", src, scope)
}

fn ok(rt: &Runtime, src: &str) -> String {
    render(rt, src).unwrap_or_else(|e| panic!("render failed: {e:?}"))
}

#[test]
fn lists_and_dicts_mutate_in_place() {
    let rt = runtime(&[]);
    let src = "{% set l = [] %}{% do l.append(1) %}{% do l.extend([2, 3]) %}{% do l.insert(0, 0) %}{{ l.pop() }}|{{ l }}|\
{% set d = {'a': 1} %}{% do d.update({'b': 2}) %}{% do d.update(c=3) %}{{ d.pop('a') }}|{{ d }}|{{ d.setdefault('z', 9) }}|{{ d.get('q', 'dflt') }}";
    assert_eq!(ok(&rt, src), "3|[0, 1, 2]|1|{'b': 2, 'c': 3}|9|dflt");
}

#[test]
fn namespace_and_vars_are_mutable() {
    let rt = runtime(&[]);
    let src = "{% set ns = namespace(items=[]) %}{% for i in range(3) %}{% do ns.items.append(i * 2) %}{% endfor %}{{ ns.items | join(',') }}|\
{% set cols = var('cols') %}{% do cols.append('c') %}{{ cols }}";
    assert_eq!(ok(&rt, src), "0,2,4|['a', 'b', 'c']");
}

#[test]
fn macros_return_values_across_files() {
    let rt = runtime(&[
        (
            "proj",
            "macros/a.sql",
            "{% macro cols() %}{% set out = [] %}{% for c in ['x', 'y'] %}{% do out.append(c | upper) %}{% endfor %}{{ return(out) }}{% endmacro %}",
        ),
        (
            "proj",
            "macros/b.sql",
            "{% macro mapping() %}{% do return({'k': cols()}) %}{% endmacro %}\n{% macro joined() %}{{ cols() | join(', ') }}{% endmacro %}",
        ),
    ]);
    assert_eq!(
        ok(
            &rt,
            "{{ mapping()['k'][1] }} {{ joined() }} {{ cols() | length }}"
        ),
        "Y X, Y 2"
    );
}

#[test]
fn early_return_skips_the_rest_of_the_macro() {
    let rt = runtime(&[(
        "proj",
        "macros/a.sql",
        "{% macro first_big(xs) %}{% for x in xs %}{% if x > 2 %}{{ return(x) }}{% endif %}{% endfor %}{{ return(none) }}{% endmacro %}",
    )]);
    assert_eq!(
        ok(
            &rt,
            "{{ first_big([1, 5, 7]) }}|{{ first_big([1]) is none }}"
        ),
        "5|True"
    );
}

#[test]
fn call_blocks_pass_their_body_as_caller() {
    let rt = runtime(&[(
        "proj",
        "macros/w.sql",
        "{% macro wrap(name) %}<{{ name }}>{{ caller() }}</{{ name }}>{% endmacro %}",
    )]);
    assert_eq!(
        ok(&rt, "{% call wrap('b') %}select {{ 1 + 1 }}{% endcall %}"),
        "<b>select 2</b>"
    );
}

#[test]
fn set_blocks_capture_text() {
    let rt = runtime(&[]);
    assert_eq!(
        ok(
            &rt,
            "{% set q %}select {{ 'x' }}{% endset %}{{ q | upper }}"
        ),
        "SELECT X"
    );
}

#[test]
fn dispatch_prefers_root_overrides_then_postgres_then_default() {
    let rt = runtime(&[
        (
            "proj",
            "macros/d.sql",
            "{% macro greet() %}{{ return(adapter.dispatch('greet', 'other')()) }}{% endmacro %}\n{% macro default__shout() %}root-default{% endmacro %}",
        ),
        (
            "other",
            "macros/o.sql",
            "{% macro default__greet() %}default{% endmacro %}{% macro postgres__greet() %}postgres{% endmacro %}{% macro default__shout() %}other-default{% endmacro %}",
        ),
    ]);
    assert_eq!(
        ok(
            &rt,
            "{{ greet() }}|{{ adapter.dispatch('shout', 'other')() }}|{{ other.default__greet() }}"
        ),
        "postgres|root-default|default"
    );
}

#[test]
fn ref_source_and_config_are_recorded_at_parse_time() {
    let rt = runtime(&[]);
    let rec = Arc::new(Recorder::default());
    let run = rt.run_context(RunOptions::default());
    let scope = NodeScope::new("proj", None)
        .record(rec.clone())
        .resolve_with(Arc::new(Names))
        .config(None);
    let out = rt
        .render(&run, "models/m.sql", "{{ config(materialized='table', tags=['a']) }}select * from {{ ref('orders') }} join {{ source('raw', 'events') }} join {{ ref('pkg', 'x', v=2) }}", scope)
        .unwrap();
    assert_eq!(
        out,
        r#"select * from "db"."analytics"."orders" join "db"."raw"."events" join "db"."pkg"."x""#
    );
    let refs: Vec<_> = rec
        .refs()
        .into_iter()
        .map(|r| (r.package, r.name, r.version))
        .collect();
    assert_eq!(
        refs,
        vec![
            (None, "orders".into(), None),
            (Some("pkg".into()), "x".into(), Some("2".into()))
        ]
    );
    assert_eq!(rec.sources(), vec![["raw".to_owned(), "events".to_owned()]]);
    assert_eq!(
        serde_json::to_value(&rec.configs()[0]).unwrap(),
        serde_json::json!({"materialized": "table", "tags": ["a"]})
    );
}

#[test]
fn python_values_render_like_python() {
    let rt = runtime(&[]);
    assert_eq!(
        ok(
            &rt,
            "{{ true }} {{ none }} {{ [1, 'a'] }} {{ {'k': false} }} {{ 'a,b'.split(',') }}"
        ),
        "True None [1, 'a'] {'k': False} ['a', 'b']"
    );
}

#[test]
fn string_and_dict_methods_work() {
    let rt = runtime(&[]);
    assert_eq!(
        ok(
            &rt,
            "{{ 'Abc'.lower() }} {{ 'abc'.startswith('a') }} {{ 'x_y'.replace('_', '-') }} {% for k, v in {'a': 1}.items() %}{{ k }}={{ v }}{% endfor %} {{ 'a' in {'a': 1} }}"
        ),
        "abc True x-y a=1 True"
    );
}

#[test]
fn json_yaml_zip_set_md5_and_modules() {
    let rt = runtime(&[]);
    assert_eq!(
        ok(
            &rt,
            "{{ tojson({'a': [1, 2]}) }} {{ fromjson('{\"x\": 3}').x }} {{ zip([1, 2], ['a', 'b']) | list | length }} {{ set([1, 1, 2]) | length }} {{ local_md5('abc') }} {{ modules.datetime.datetime(2024, 1, 2).strftime('%Y/%m/%d') }} {{ modules.re.sub('[0-9]+', 'N', 'a1b22') }}"
        ),
        "{\"a\": [1, 2]} 3 2 2 900150983cd24fb0d6963f7d28e17f72 2024/01/02 aNbN"
    );
}

#[test]
fn missing_var_and_env_var_errors_say_what_to_do() {
    let rt = runtime(&[]);
    let e = render(&rt, "{{ var('nope') }}").unwrap_err();
    assert_eq!(e.code, "var-missing");
    assert!(
        e.message.contains("`nope`") && e.message.contains("--vars"),
        "{}",
        e.message
    );
    let e = render(&rt, "{{ env_var('MFB_SURELY_UNSET_VAR') }}").unwrap_err();
    assert_eq!(e.code, "env-var-missing");
    assert_eq!(
        ok(&rt, "{{ env_var('MFB_SURELY_UNSET_VAR', 'dflt') }}"),
        "dflt"
    );
}

#[test]
fn errors_point_at_the_file_line_and_source() {
    let rt = runtime(&[(
        "proj",
        "macros/bad.sql",
        "{% macro boom() %}\n  {{ exceptions.raise_compiler_error('kaboom') }}\n{% endmacro %}",
    )]);
    let e = render(&rt, "select 1\nfrom x\nwhere {{ boom() }}").unwrap_err();
    assert!(e.message.contains("kaboom"), "{}", e.message);
    let loc = e.location.clone().expect("located");
    assert_eq!(
        (loc.file.to_str().unwrap(), loc.line),
        ("macros/bad.sql", 2)
    );
    assert_eq!(
        e.source_line.as_deref(),
        Some("  {{ exceptions.raise_compiler_error('kaboom') }}")
    );
    assert_eq!(
        e.called_from
            .first()
            .map(|l| (l.file.to_str().unwrap().to_owned(), l.line)),
        Some(("models/m.sql".to_owned(), 3))
    );

    let e = render(&rt, "select\n{{ ref('a' }}").unwrap_err();
    assert_eq!(e.code, "jinja-syntax");
    assert_eq!(e.location.unwrap().line, 2);
}

#[test]
fn unknown_macro_is_reported() {
    let rt = runtime(&[]);
    let e = render(&rt, "{{ no_such_macro() }}").unwrap_err();
    assert!(
        e.message.contains("no_such_macro")
            || e.code == "unknown-macro"
            || e.message.contains("undefined"),
        "{e:?}"
    );
}

#[test]
fn call_macro_from_rust_returns_values() {
    let rt = runtime(&[(
        "proj",
        "macros/n.sql",
        "{% macro pair(a, b) %}{{ return([a, b]) }}{% endmacro %}",
    )]);
    let run = rt.run_context(RunOptions::default());
    let v = rt
        .call_macro(
            &run,
            NodeScope::new("proj", None),
            None,
            "pair",
            &[Value::from(1), Value::from("x")],
        )
        .unwrap();
    assert_eq!(v.to_string(), "[1, 'x']");
    let e = rt
        .call_macro(&run, NodeScope::new("proj", None), None, "pari", &[])
        .unwrap_err();
    assert_eq!(e.help.as_deref(), Some("did you mean `pair`?"));
}

#[test]
fn slice_copies_and_list_filter_are_mutable() {
    let rt = runtime(&[]);
    assert_eq!(
        ok(
            &rt,
            "{% set xs = [1, 2, 3] %}{% set c = xs[:] %}{% do c.pop() %}{{ c }} {{ xs }} {% set l = 'ab' | list %}{% do l.append('c') %}{{ l | join('') }}"
        ),
        "[1, 2] [1, 2, 3] abc"
    );
    let e = render(
        &rt,
        "{% set s = 'a,b'.split(',') %}{% set t = s[1:] %}{% do t.append('x') %}",
    )
    .unwrap_err();
    assert!(e.message.contains("cannot append()"), "{}", e.message);
}

#[test]
fn stored_results_load_back_as_objects() {
    let rt = runtime(&[]);
    assert_eq!(
        ok(
            &rt,
            "{{ store_result('y', response='ok') }}{{ load_result('y').response }}|{{ load_result('nope') is none }}|{{ api.Relation.create(schema='s', identifier='t') }}"
        ),
        "ok|True|\"s\".\"t\""
    );
}

#[test]
fn dates_add_and_subtract_timedeltas() {
    let rt = runtime(&[]);
    assert_eq!(
        ok(
            &rt,
            "{{ (modules.datetime.date(2024, 2, 28) + modules.datetime.timedelta(days=1)).isoformat() }} {{ (modules.datetime.datetime(2024, 1, 1, 6) - modules.datetime.timedelta(hours=12)).isoformat() }}"
        ),
        "2024-02-29 2023-12-31T18:00:00"
    );
}

#[test]
fn call_blocks_with_arguments_get_them() {
    let rt = runtime(&[(
        "proj",
        "macros/w.sql",
        "{% macro each(items) %}{% for i in items %}[{{ caller(i, loop.index) }}]{% endfor %}{% endmacro %}",
    )]);
    assert_eq!(
        ok(
            &rt,
            "{% call(item, n) each(['a', 'b']) %}{{ n }}:{{ item | upper }}{% endcall %}"
        ),
        "[1:A][2:B]"
    );
}

#[test]
fn split_results_are_mutable() {
    let rt = runtime(&[]);
    assert_eq!(
        ok(
            &rt,
            "{% set parts = 'a,b'.split(',') %}{% do parts.append('c') %}{{ parts | join('-') }}"
        ),
        "a-b-c"
    );
}

#[test]
fn macros_take_extra_arguments_as_varargs_and_kwargs() {
    let rt = runtime(&[(
        "proj",
        "macros/kw.sql",
        "{% macro kw(a, b='B') %}{{ a }}-{{ b }}-{{ kwargs }}-{{ varargs | length }}{% endmacro %}\n\
         {% macro pass(x) %}{{ return(inner(x, **kwargs)) }}{% endmacro %}\n\
         {% macro inner(x, y=2) %}{{ x }}+{{ y }}{% endmacro %}\n\
         {% macro getter() %}{{ kwargs.get('where', 'none') }}{% endmacro %}\n\
         {% macro strict(a) %}{{ a }}{% endmacro %}\n\
         {% macro va(a) %}{{ varargs }}|{{ varargs[0] }}|{{ varargs[-1] }}|{{ varargs | join(',') }}|{% for v in varargs %}{{ v }}{% endfor %}{% endmacro %}",
    )]);
    assert_eq!(ok(&rt, "{{ kw(1, 2, 3, 4) }}"), "1-2-{}-2");
    // varargs is a tuple, as in dbt's Jinja: `(3,)`, `(3, 'x')`.
    assert_eq!(ok(&rt, "{{ va(1, 3) }}"), "(3,)|3|3|3|3");
    assert_eq!(ok(&rt, "{{ va(1, 3, 'x') }}"), "(3, 'x')|3|x|3,x|3x");
    assert_eq!(ok(&rt, "{{ kw(1, z=5) }}"), "1-B-{'z': 5}-0");
    assert_eq!(ok(&rt, "{{ pass(7, y=9) }}"), "7+9");
    assert_eq!(
        ok(&rt, "{{ getter(where='a > 1') }}|{{ getter() }}"),
        "a > 1|none"
    );
    // A macro that does not mention them still refuses extra arguments, as in Jinja.
    assert!(render(&rt, "{{ strict(1, 2) }}").is_err());
}

/// The static parser either declines a template or finds exactly what its parse-time
/// render records.
#[test]
fn static_parse_records_what_the_render_records_or_declines() {
    let rt = runtime(&[(
        "proj",
        "macros/m.sql",
        "{% macro money(c) %}round({{ c }} / 100.0, 2){% endmacro %}\
{% macro uses_var() %}{{ var('cols') | join(',') }}{% endmacro %}\
{% macro needs_missing_var() %}{{ var('nope') }}{% endmacro %}\
{% macro loops() %}{% set xs = [] %}{% for i in range(2) %}{% do xs.append(i) %}{% endfor %}{{ xs }}{% endmacro %}\
{% macro calls_money() %}{{ money('x') }}{% endmacro %}\
{% macro forever(n) %}{{ forever(n + 1) }}{% endmacro %}\
{% macro refs() %}{{ ref('a') }}{% endmacro %}\
{% macro logs() %}{% do log('x') %}{% endmacro %}\
{% macro dispatches() %}{{ adapter.dispatch('money')('x') }}{% endmacro %}\
{% macro sets_config() %}{% do config.set('a', 1) %}{% endmacro %}\
{% macro raises() %}{{ exceptions.raise_compiler_error('no') }}{% endmacro %}\
{% test positive(model, column_name) %}select * from {{ model }} where {{ column_name }} <= 0{% endtest %}",
    )]);
    let run = run_context(&rt);
    let parser = rt.static_parser(&run);
    let recorded = |src: &str| {
        let rec = Arc::new(Recorder::default());
        let scope = NodeScope::new("proj", Some("model.proj.m"))
            .record(rec.clone())
            .resolve_with(Arc::new(Names))
            .config(None)
            .set("execute", Value::from(false));
        rt.render(&run, "models/m.sql", src, scope)
            .unwrap_or_else(|e| panic!("render of {src:?} failed: {e:?}"));
        rec.record()
    };
    let static_ok = [
        "select 1",
        "select * from {{ ref('a') }} join {{ ref('other', 'b') }} using (id) -- {{ ref('a') }}",
        "{{ config(materialized='table', tags=['x', 'y'], meta={'k': 1, 'b': true, 'n': none}, enabled=True) }}\
{{- config(alias='z') -}} select 1",
        "select {{ money('amount') }}, {{ money(var('cols')) }} from {{ source('raw', 'events') }}",
        "select '{{ var(\"nope\", \"default\") }}', '{{ var('nope', default=1) }}'",
        "{{ uses_var() }} {{ loops() }} {{ calls_money() }} {# {{ refs() }} #}",
        "select '{{ \"}}\" }}', '{{ this }}', '{{ ref(\"a\").identifier }}', {{ ref('a') | string }}",
        "{{ money(ref('a')) }} {{ ref('a') }} {{ money('y') }}",
        "{{ test_positive(column_name='amount', model=get_where_subquery(ref('a'))) }}",
        "{{ test_positive(model=get_where_subquery(source('raw', 'events')), column_name='x') }}",
    ];
    for src in static_ok {
        let found = parser
            .parse("proj", src)
            .unwrap_or_else(|| panic!("declined {src:?}"));
        assert_eq!(found, recorded(src), "{src}");
    }
    let declined = [
        "{% if true %}{{ ref('a') }}{% endif %}",
        "{{ ref('a') if execute else ref('b') }}",
        "{{ forever(1) }}",
        "{{ refs() }}",
        "{{ logs() }}",
        "{{ dispatches() }}",
        "{{ sets_config() }}",
        "{{ raises() }}",
        "{{ needs_missing_var() }}",
        "{{ var('nope') }}",
        "{{ ref(name) }}",
        "{{ ref('a', version=2) }}",
        "{{ config(materialized=var('cols')) }}",
        "{{ adapter.quote('x') }}",
        "{{ 'a\\'b' }}",
        "{{ 1.5 }}",
        "{{ x ~ 'y' }}",
        "{{ unknown_function() }}",
        "{{ ref('a') ",
        "{# unclosed",
    ];
    for src in declined {
        assert!(parser.parse("proj", src).is_none(), "accepted {src:?}");
    }
}

/// The pieces of a template the static parser reads, put together (relations resolved,
/// other expressions rendered on their own), are what rendering the template outputs:
/// whitespace control, comments and the final newline included.
#[test]
fn static_pieces_put_together_give_the_render() {
    use mfb_jinja::static_parse::Piece;
    let rt = runtime(&[(
        "proj",
        "macros/m.sql",
        "{% macro money(c) -%}\n  round({{ c }} / 100.0, 2)\n{%- endmacro %}\
{% macro uses_var() %}{{ var('cols') | join(',') }}{% endmacro %}",
    )]);
    let run = run_context(&rt);
    let parser = rt.static_parser(&run);
    let scope = || {
        NodeScope::new("proj", Some("model.proj.m"))
            .resolve_with(Arc::new(Names))
            .config(Some(Arc::new(indexmap::IndexMap::new())))
            .set("execute", Value::from(true))
    };
    let cases = [
        "select 1\n",
        "select {1}\n",
        "select '{\"a\": 1}'::json\n",
        "select '}}', '%}' -- #}\n",
        "select * from {{ ref('a') }}\n\n",
        "select * from {{ ref('other', \"b\") }} join {{ source('raw', 'events') }}\r\n",
        "{{ config(materialized='table') }}\n\nselect 1",
        "{{- config(alias='z') -}}\n  select 1  {{- ' x ' -}}  \n",
        "a  {#- note -#}  b {# keep #} c {#-#} d {##}e",
        "x \u{a0}\t{{- var('cols') }}\t \n {{ money('amount') }}{{ uses_var() }}",
        "{{ money(var('cols')) }}, {{ var('nope', 'fallback') }}, {{ 'lit' | upper }}",
        "{{ ref('a') | string }} {{ ref('a').identifier }} {{+ ref('a') +}}\n",
        "end with a comment {# c #}\n",
        "{{ ref('a') }}\n\n",
    ];
    for src in cases {
        let pieces = parser
            .pieces("proj", src)
            .unwrap_or_else(|| panic!("declined {src:?}"));
        let mut out = String::new();
        for piece in &pieces {
            match *piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Ref { package, name } => out.push_str(
                    &Names
                        .resolve_ref(package, name, None)
                        .expect("ref")
                        .render(),
                ),
                Piece::Source { source, table } => out.push_str(
                    &Names
                        .resolve_source(source, table)
                        .expect("source")
                        .render(),
                ),
                Piece::Expr(e) => out.push_str(
                    &rt.render(&run, "e", &format!("{{{{ {e} }}}}"), scope())
                        .expect("expression"),
                ),
            }
        }
        let rendered = rt
            .render(&run, "models/m.sql", src, scope())
            .expect("render");
        assert_eq!(out, rendered, "{src:?} gave pieces {pieces:?}");
    }
    // As in dbt, only text with `{{ {% {# }} %} #}` is rendered (which drops its last newline).
    let plain = rt
        .render(&run, "m", "select '{\"a\": 1}'\n", scope())
        .expect("render");
    assert_eq!(plain, "select '{\"a\": 1}'\n");
    let rendered = rt
        .render(&run, "m", "select '}}'\n", scope())
        .expect("render");
    assert_eq!(rendered, "select '}}'");
    // Pieces the compile step resolves itself, and `config()` leaving none.
    assert_eq!(
        parser.pieces(
            "proj",
            "{{ config(a=1) }}{{ ref('a') }}{{ source('s', 't') }}{{ ref('a').x }}"
        ),
        Some(vec![
            Piece::Ref {
                package: None,
                name: "a"
            },
            Piece::Source {
                source: "s",
                table: "t"
            },
            Piece::Expr("ref('a').x"),
        ])
    );
    for declined in ["{% if true %}x{% endif %}", "{{ ref(name) }}", "{# open"] {
        assert_eq!(parser.pieces("proj", declined), None, "{declined}");
    }
}

/// A render watched with `NodeScope::watch` tells whether it read the node's own values.
#[test]
fn watched_renders_tell_whether_they_read_the_node() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let rt = runtime(&[(
        "proj",
        "macros/m.sql",
        "{% macro plain(c) %}{{ c }}{% endmacro %}{% macro this_name() %}{{ this }}{% endmacro %}",
    )]);
    let run = run_context(&rt);
    let reads = |src: &str| {
        let flag = Arc::new(AtomicBool::new(false));
        let scope = NodeScope::new("proj", Some("model.proj.m"))
            .resolve_with(Arc::new(Names))
            .config(Some(Arc::new(indexmap::IndexMap::new())))
            .set("this", Value::from("t"))
            .watch(flag.clone());
        rt.render(&run, "m", src, scope).expect("render");
        flag.load(Ordering::Relaxed)
    };
    for src in ["{{ plain('x') }}", "{{ var('cols') }}", "{{ target }}"] {
        assert!(!reads(src), "{src}");
    }
    for src in [
        "{{ this }}",
        "{{ this_name() }}",
        "{{ ref('a') }}",
        "{{ config.get('x') }}",
        "{{ context['plain']('x') }}",
        "{{ builtins.ref('a') }}",
    ] {
        assert!(reads(src), "{src}");
    }
}
