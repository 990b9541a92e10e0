//! `modules.datetime` and `modules.re`: the parts of Python's modules dbt projects use.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Timelike, Utc};
use minijinja::value::{Kwargs, Object, ObjectRepr, Value, from_args};
use minijinja::{Error, ErrorKind, State};

use crate::collections::MutList;
use crate::refs::split_kwargs;

fn err(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

/// The `modules` global.
#[derive(Debug)]
pub struct Modules;

impl Object for Modules {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "datetime" => Some(Value::from_object(DatetimeModule)),
            "re" => Some(Value::from_object(ReModule)),
            _ => None,
        }
    }
}

#[derive(Debug)]
struct DatetimeModule;

impl Object for DatetimeModule {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "datetime" => Some(Value::from_object(DatetimeClass)),
            "date" => Some(Value::from_object(DateClass)),
            "timedelta" => Some(Value::from_object(TimedeltaClass)),
            _ => None,
        }
    }
}

/// A Python `datetime` (naive, or UTC-aware).
#[derive(Debug, Clone)]
pub struct PyDateTime {
    pub value: NaiveDateTime,
    pub utc: bool,
}

impl PyDateTime {
    /// The current UTC time, aware (what `run_started_at` is).
    pub fn now_utc() -> Self {
        PyDateTime {
            value: Utc::now().naive_utc(),
            utc: true,
        }
    }
}

impl fmt::Display for PyDateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.value.format("%Y-%m-%d %H:%M:%S"))?;
        if self.value.nanosecond() / 1000 != 0 {
            write!(f, ".{:06}", self.value.nanosecond() / 1000)?;
        }
        if self.utc {
            f.write_str("+00:00")?;
        }
        Ok(())
    }
}

impl Object for PyDateTime {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let v = &self.value;
        Some(Value::from(match key.as_str()? {
            "year" => v.year() as i64,
            "month" => v.month() as i64,
            "day" => v.day() as i64,
            "hour" => v.hour() as i64,
            "minute" => v.minute() as i64,
            "second" => v.second() as i64,
            "microsecond" => (v.nanosecond() / 1000) as i64,
            _ => return None,
        }))
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "strftime" => {
                let (fmt,): (String,) = from_args(args)?;
                Ok(Value::from(strftime(&self.value, &fmt, self.utc)))
            }
            "isoformat" => {
                let mut s = self.value.format("%Y-%m-%dT%H:%M:%S").to_string();
                if self.value.nanosecond() / 1000 != 0 {
                    s.push_str(&format!(".{:06}", self.value.nanosecond() / 1000));
                }
                if self.utc {
                    s.push_str("+00:00");
                }
                Ok(Value::from(s))
            }
            "date" => Ok(Value::from_object(PyDate(self.value.date()))),
            "timestamp" => Ok(Value::from(
                self.value.and_utc().timestamp() as f64 + self.value.nanosecond() as f64 / 1e9,
            )),
            "replace" => {
                let (_, kwargs) = split_kwargs(args);
                let mut v = self.value;
                if let Some(k) = kwargs {
                    for key in [
                        "year",
                        "month",
                        "day",
                        "hour",
                        "minute",
                        "second",
                        "microsecond",
                    ] {
                        if let Some(n) = k.get::<Option<i64>>(key)? {
                            v = set_part(v, key, n)
                                .ok_or_else(|| err(format!("replace(): invalid {key}={n}")))?;
                        }
                    }
                    let _: Option<Value> = k.get("tzinfo")?;
                }
                Ok(Value::from_object(PyDateTime {
                    value: v,
                    utc: self.utc,
                }))
            }
            "__mfb_add" | "__mfb_sub" => {
                let (d,): (Value,) = from_args(args)?;
                let delta = d
                    .downcast_object_ref::<PyTimedelta>()
                    .ok_or_else(|| err("datetime arithmetic needs a timedelta"))?;
                let value = if method.contains("add") {
                    self.value + delta.0
                } else {
                    self.value - delta.0
                };
                Ok(Value::from_object(PyDateTime {
                    value,
                    utc: self.utc,
                }))
            }
            _ => Err(crate::collections::no_method("datetime", method)),
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

fn set_part(v: NaiveDateTime, key: &str, n: i64) -> Option<NaiveDateTime> {
    let n32 = u32::try_from(n).ok();
    match key {
        "year" => v.with_year(i32::try_from(n).ok()?),
        "month" => v.with_month(n32?),
        "day" => v.with_day(n32?),
        "hour" => v.with_hour(n32?),
        "minute" => v.with_minute(n32?),
        "second" => v.with_second(n32?),
        "microsecond" => v.with_nanosecond(n32? * 1000),
        _ => None,
    }
}

/// Python's strftime on chrono: the common directives mean the same in both.
fn strftime(v: &NaiveDateTime, fmt: &str, utc: bool) -> String {
    let fmt = fmt
        .replace("%z", if utc { "+0000" } else { "" })
        .replace("%Z", if utc { "UTC" } else { "" });
    let mut out = String::new();
    use std::fmt::Write;
    if write!(out, "{}", v.format(&fmt)).is_err() {
        return fmt;
    }
    out
}

#[derive(Debug, Clone)]
struct PyDate(NaiveDate);

impl Object for PyDate {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        Some(Value::from(match key.as_str()? {
            "year" => self.0.year() as i64,
            "month" => self.0.month() as i64,
            "day" => self.0.day() as i64,
            _ => return None,
        }))
    }
    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "strftime" => {
                let (fmt,): (String,) = from_args(args)?;
                Ok(Value::from(strftime(
                    &self.0.and_hms_opt(0, 0, 0).unwrap_or_default(),
                    &fmt,
                    false,
                )))
            }
            "isoformat" => Ok(Value::from(self.0.format("%Y-%m-%d").to_string())),
            "__mfb_add" | "__mfb_sub" => {
                let (d,): (Value,) = from_args(args)?;
                let delta = d
                    .downcast_object_ref::<PyTimedelta>()
                    .ok_or_else(|| err("date arithmetic needs a timedelta"))?;
                let days = Duration::days(delta.0.num_days());
                let value = if method == "__mfb_add" {
                    self.0 + days
                } else {
                    self.0 - days
                };
                Ok(Value::from_object(PyDate(value)))
            }
            _ => Err(crate::collections::no_method("date", method)),
        }
    }
    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%d"))
    }
}

#[derive(Debug, Clone)]
struct PyTimedelta(Duration);

impl Object for PyTimedelta {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "days" => Some(Value::from(self.0.num_days())),
            "seconds" => Some(Value::from(self.0.num_seconds() % 86_400)),
            _ => None,
        }
    }
    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        _args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "total_seconds" => Ok(Value::from(self.0.num_milliseconds() as f64 / 1000.0)),
            _ => Err(crate::collections::no_method("timedelta", method)),
        }
    }
}

#[derive(Debug)]
struct DatetimeClass;

impl Object for DatetimeClass {
    fn call(self: &Arc<Self>, _state: &mut State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        let (parts, _) = split_kwargs(args);
        let n = |i: usize, d: i64| {
            parts
                .get(i)
                .and_then(|v| i64::try_from(v.clone()).ok())
                .unwrap_or(d)
        };
        let date = NaiveDate::from_ymd_opt(n(0, 1970) as i32, n(1, 1) as u32, n(2, 1) as u32)
            .ok_or_else(|| err("datetime(): invalid date"))?;
        let value = date
            .and_hms_micro_opt(
                n(3, 0) as u32,
                n(4, 0) as u32,
                n(5, 0) as u32,
                n(6, 0) as u32,
            )
            .ok_or_else(|| err("datetime(): invalid time"))?;
        Ok(Value::from_object(PyDateTime { value, utc: false }))
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "now" => Ok(Value::from_object(PyDateTime {
                value: chrono::Local::now().naive_local(),
                utc: false,
            })),
            "utcnow" => Ok(Value::from_object(PyDateTime {
                value: Utc::now().naive_utc(),
                utc: false,
            })),
            "strptime" => {
                let (s, fmt): (String, String) = from_args(args)?;
                let value = NaiveDateTime::parse_from_str(&s, &fmt)
                    .or_else(|_| {
                        NaiveDate::parse_from_str(&s, &fmt)
                            .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default())
                    })
                    .map_err(|e| err(format!("strptime('{s}', '{fmt}'): {e}")))?;
                Ok(Value::from_object(PyDateTime { value, utc: false }))
            }
            "fromisoformat" => {
                let (s,): (String,) = from_args(args)?;
                if let Ok(dt) = DateTime::parse_from_rfc3339(&s) {
                    return Ok(Value::from_object(PyDateTime {
                        value: dt.naive_utc(),
                        utc: true,
                    }));
                }
                let value = NaiveDateTime::parse_from_str(&s, "%Y-%m-%dT%H:%M:%S%.f")
                    .or_else(|_| NaiveDateTime::parse_from_str(&s, "%Y-%m-%d %H:%M:%S%.f"))
                    .or_else(|_| {
                        NaiveDate::parse_from_str(&s, "%Y-%m-%d")
                            .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default())
                    })
                    .map_err(|e| err(format!("fromisoformat('{s}'): {e}")))?;
                Ok(Value::from_object(PyDateTime { value, utc: false }))
            }
            _ => Err(crate::collections::no_method("datetime.datetime", method)),
        }
    }
}

#[derive(Debug)]
struct DateClass;

impl Object for DateClass {
    fn call(self: &Arc<Self>, _state: &mut State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        let (y, m, d): (i32, u32, u32) = from_args(args)?;
        NaiveDate::from_ymd_opt(y, m, d)
            .map(|d| Value::from_object(PyDate(d)))
            .ok_or_else(|| err("date(): invalid date"))
    }
    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        _args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "today" => Ok(Value::from_object(PyDate(
                chrono::Local::now().date_naive(),
            ))),
            _ => Err(crate::collections::no_method("datetime.date", method)),
        }
    }
}

#[derive(Debug)]
struct TimedeltaClass;

impl Object for TimedeltaClass {
    fn call(self: &Arc<Self>, _state: &mut State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        let (positional, kwargs) = split_kwargs(args);
        let mut total = Duration::zero();
        if let Some(days) = positional.first() {
            total += Duration::days(i64::try_from(days.clone())?);
        }
        if let Some(k) = kwargs {
            for (key, unit) in [
                ("weeks", 604_800.0),
                ("days", 86_400.0),
                ("hours", 3_600.0),
                ("minutes", 60.0),
                ("seconds", 1.0),
            ] {
                if let Some(n) = k.get::<Option<f64>>(key)? {
                    total += Duration::milliseconds((n * unit * 1000.0) as i64);
                }
            }
            k.assert_all_used()?;
        }
        Ok(Value::from_object(PyTimedelta(total)))
    }
}

#[derive(Debug)]
struct ReModule;

fn compile(pattern: &str) -> Result<regex::Regex, Error> {
    regex::Regex::new(pattern)
        .map_err(|e| err(format!("invalid regular expression `{pattern}`: {e}")))
}

fn re_call(re: &regex::Regex, method: &str, args: &[Value]) -> Result<Value, Error> {
    let s = |i: usize| {
        args.get(i)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| err(format!("re.{method}() needs a string argument")))
    };
    match method {
        "match" => {
            let text = s(0)?;
            Ok(re
                .captures(&text)
                .filter(|c| c.get(0).is_some_and(|m| m.start() == 0))
                .map_or(Value::from(()), |c| match_value(&c)))
        }
        "search" => Ok(re
            .captures(&s(0)?)
            .map_or(Value::from(()), |c| match_value(&c))),
        "fullmatch" => {
            let text = s(0)?;
            Ok(re
                .captures(&text)
                .filter(|c| {
                    c.get(0)
                        .is_some_and(|m| m.start() == 0 && m.end() == text.len())
                })
                .map_or(Value::from(()), |c| match_value(&c)))
        }
        "findall" => {
            let text = s(0)?;
            let items = re
                .captures_iter(&text)
                .map(|c| match c.len() {
                    1 => Value::from(c.get(0).map_or("", |m| m.as_str())),
                    2 => Value::from(c.get(1).map_or("", |m| m.as_str())),
                    _ => Value::from(
                        (1..c.len())
                            .map(|i| Value::from(c.get(i).map_or("", |m| m.as_str())))
                            .collect::<Vec<_>>(),
                    ),
                })
                .collect();
            Ok(MutList::value(items))
        }
        "sub" => {
            let (repl, text) = (s(0)?, s(1)?);
            let repl = python_repl(&repl);
            Ok(Value::from(
                re.replace_all(&text, repl.as_str()).into_owned(),
            ))
        }
        "split" => Ok(MutList::value(re.split(&s(0)?).map(Value::from).collect())),
        _ => Err(Error::new(
            ErrorKind::UnknownMethod,
            format!("re has no function `{method}`"),
        )),
    }
}

/// Python's `\1` back-references become the regex crate's `${1}`.
fn python_repl(repl: &str) -> String {
    let mut out = String::new();
    let mut chars = repl.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek().is_some_and(char::is_ascii_digit) => {
                out.push_str("${");
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    out.push(*d);
                    chars.next();
                }
                out.push('}');
            }
            '$' => out.push_str("$$"),
            c => out.push(c),
        }
    }
    out
}

fn match_value(c: &regex::Captures<'_>) -> Value {
    let groups: Vec<Value> = (0..c.len())
        .map(|i| {
            c.get(i)
                .map_or(Value::from(()), |m| Value::from(m.as_str()))
        })
        .collect();
    Value::from_object(MatchObject(groups))
}

#[derive(Debug)]
struct MatchObject(Vec<Value>);

impl Object for MatchObject {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }
    fn is_true(self: &Arc<Self>) -> bool {
        true
    }
    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "group" => {
                let i = args.first().map_or(Ok(0), |v| usize::try_from(v.clone()))?;
                self.0.get(i).cloned().ok_or_else(|| err("no such group"))
            }
            "groups" => Ok(Value::from(self.0[1..].to_vec())),
            _ => Err(crate::collections::no_method("match", method)),
        }
    }
}

#[derive(Debug)]
struct CompiledRe(regex::Regex);

impl Object for CompiledRe {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }
    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        re_call(&self.0, method, args)
    }
}

impl Object for ReModule {
    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let (positional, kwargs) = split_kwargs(args);
        let _ = kwargs.map(|k: Kwargs| k.get::<Option<Value>>("flags"));
        let pattern = positional
            .first()
            .and_then(Value::as_str)
            .ok_or_else(|| err(format!("re.{method}() needs a pattern")))?;
        let re = compile(pattern)?;
        if method == "compile" {
            return Ok(Value::from_object(CompiledRe(re)));
        }
        re_call(&re, method, &positional[1..])
    }
}
