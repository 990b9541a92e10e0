//! `mfb debug`: is the project readable, is the profile valid, can we connect?
//! Each check prints OK or says precisely what is wrong and how to fix it.

use mfb_exec::Settings;

use crate::ExitStatus;
use crate::output::Output;

pub(super) fn run(settings: Settings, out: &Output) -> ExitStatus {
    out.result(&format!("mfb version: {}", env!("CARGO_PKG_VERSION")));
    out.result(&format!("project dir: {}", settings.project_dir.display()));
    let loaded = match mfb_exec::load(settings) {
        Ok(l) => l,
        Err(d) => {
            out.result("project and profile: [ERROR]");
            return super::fail(&d, out);
        }
    };
    let t = &loaded.target;
    out.result(&format!(
        "project `{}`, profile `{}`, target `{}` (from {}): [OK]",
        loaded.project.root_package().name,
        t.profile_name,
        t.target_name,
        t.file.display()
    ));
    out.result(&format!(
        "connection: host={} port={} user={} dbname={} schema={} sslmode={} threads={}",
        t.host,
        t.port,
        t.user,
        t.dbname,
        t.schema,
        t.sslmode.as_deref().unwrap_or("prefer"),
        t.threads
    ));
    match mfb_exec::warehouse::check_connection(t) {
        Ok(version) => {
            out.result(&format!("connection test: [OK] {version}"));
            ExitStatus::Success
        }
        Err(d) => {
            out.result("connection test: [ERROR]");
            crate::report::emit(&[d], out);
            ExitStatus::Failure
        }
    }
}
