//! Terminal output: progress lines as text or one JSON event per line, colors on a TTY only.

use std::io::{IsTerminal, Write};

use serde_json::json;

use crate::args::{GlobalArgs, LogFormat};

/// Where and how `mfb` prints.
#[derive(Debug, Clone)]
pub struct Output {
    pub json: bool,
    pub quiet: bool,
    pub color: bool,
    pub invocation_id: String,
    /// Put before every progress and summary line (`[tenant 1] `, in per-tenant runs).
    pub prefix: String,
}

impl Output {
    /// From the global flags.
    pub fn new(global: &GlobalArgs) -> Self {
        let json = global.log_format == Some(LogFormat::Json);
        let color = !global.no_use_colors
            && std::io::stdout().is_terminal()
            && std::env::var_os("NO_COLOR").is_none();
        Output {
            json,
            quiet: global.quiet,
            color,
            invocation_id: uuid::Uuid::new_v4().to_string(),
            prefix: String::new(),
        }
    }

    pub(crate) fn event(
        &self,
        level: &str,
        name: &str,
        msg: &str,
        data: serde_json::Value,
    ) -> String {
        json!({
            "info": {
                "name": name,
                "level": level,
                "msg": msg,
                "ts": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
                "invocation_id": self.invocation_id,
                "pid": std::process::id(),
                "thread": "MainThread",
                "category": "",
                "code": "",
                "extra": {},
            },
            "data": data,
        })
        .to_string()
    }

    /// A progress or summary line.
    pub fn info(&self, name: &str, msg: &str) {
        if self.quiet {
            return;
        }
        let prefix = &self.prefix;
        let line = if self.json {
            self.event("info", name, &format!("{prefix}{msg}"), json!({}))
        } else {
            format!("{} {prefix}{msg}", timestamp())
        };
        let _ = writeln!(std::io::stdout().lock(), "{line}");
    }

    /// Output the user asked for (ls lines, --inline SQL): printed even with --quiet. In
    /// JSON logs it is dbt's `PrintEvent`, the text in `data.msg`.
    pub fn result(&self, text: &str) {
        let line = if self.json {
            self.event("info", "PrintEvent", text, json!({"msg": text}))
        } else {
            text.to_owned()
        };
        let _ = writeln!(std::io::stdout().lock(), "{line}");
    }

    /// A warning or error line, already rendered.
    pub fn problem(&self, level: &str, code: &str, rendered: &str, data: serde_json::Value) {
        if self.json {
            let _ = writeln!(
                std::io::stdout().lock(),
                "{}",
                self.event(level, code, rendered, data)
            );
        } else {
            let _ = writeln!(std::io::stderr().lock(), "{rendered}");
        }
    }

    /// Wraps text in an ANSI color when printing to a terminal.
    pub fn paint(&self, text: &str, code: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
}

fn timestamp() -> String {
    chrono::Local::now().format("%H:%M:%S").to_string()
}

/// Prints what templates log: `log(msg, info=True)` and `print()` on stdout like dbt,
/// `exceptions.warn()` on stderr; plain `log(msg)` only goes to JSON logs.
#[derive(Debug)]
pub struct TemplateLog(pub Output);

impl mfb_exec::LogSink for TemplateLog {
    fn log(&self, message: &str, info: bool) {
        if info {
            self.0.info("JinjaLogInfo", message);
        } else if self.0.json {
            let _ = writeln!(
                std::io::stdout().lock(),
                "{}",
                self.0.event("debug", "JinjaLogDebug", message, json!({}))
            );
        }
    }
    fn warn(&self, message: &str) {
        self.0.problem(
            "warn",
            "JinjaLogWarning",
            &format!("warning: {message}"),
            json!({}),
        );
    }
    fn print(&self, message: &str) {
        let _ = writeln!(std::io::stdout().lock(), "{message}");
    }
}
