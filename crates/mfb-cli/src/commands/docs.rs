//! `mfb docs generate`: compile the project, then write target/manifest.json and
//! target/catalog.json (dbt's v1 shape, plus row counts, sizes and RLS facts as stats).
//! The docs site itself (index.html) is not built yet.

use mfb_diagnostics::Diagnostic;
use mfb_exec::Settings;

use crate::ExitStatus;
use crate::output::Output;

pub(super) fn generate(
    settings: Settings,
    no_compile: bool,
    empty_catalog: bool,
    out: &Output,
) -> ExitStatus {
    let mut parsed = match super::load_and_parse(settings, out) {
        Ok(p) => p,
        Err(status) => return status,
    };
    if !no_compile {
        let selected = match super::select(&parsed, out) {
            Ok(s) => s,
            Err(d) => return super::fail(&d, out),
        };
        if let Err(d) = mfb_exec::compile(&mut parsed, &selected) {
            return super::fail(&d, out);
        }
    }
    if let Err(d) = super::write_manifest(&parsed) {
        return super::fail(&[d], out);
    }
    let catalog = if empty_catalog {
        serde_json::json!({
            "metadata": {
                "dbt_schema_version": "https://schemas.getdbt.com/dbt/catalog/v1.json",
                "invocation_id": out.invocation_id,
            },
            "nodes": {}, "sources": {}, "errors": null,
        })
    } else {
        out.info("BuildingCatalog", "Building catalog");
        match mfb_exec::catalog::catalog(&parsed, &out.invocation_id) {
            Ok(c) => c,
            Err(d) => return super::fail(&d, out),
        }
    };
    let path = mfb_exec::compile::target_dir(&parsed).join("catalog.json");
    let text = serde_json::to_vec_pretty(&catalog).unwrap_or_default();
    if let Err(e) = std::fs::write(&path, text) {
        return super::fail(
            &[Diagnostic::error(
                "write-failed",
                format!("cannot write {}: {e}", path.display()),
            )],
            out,
        );
    }
    out.info(
        "CatalogWritten",
        &format!("Catalog written to {}", path.display()),
    );
    out.info(
        "DocsSiteMissing",
        "mfb does not build the docs site (index.html) yet; manifest.json and catalog.json are dbt-shaped for other tools",
    );
    std::mem::forget(parsed);
    ExitStatus::Success
}
