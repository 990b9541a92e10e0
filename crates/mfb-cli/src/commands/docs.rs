//! `mfb docs generate`: compile the project, write target/manifest.json and
//! target/catalog.json (dbt's v1 shape, plus row counts, sizes and RLS facts as stats),
//! then the docs site (target/index.html and target/docs-assets/, built by mfb-docs from
//! those artifacts and run_results.json). `mfb docs serve`: a small static file server
//! for it.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use mfb_diagnostics::Diagnostic;
use mfb_exec::Settings;

use crate::output::Output;
use crate::{ExitStatus, report};

/// `mfb docs generate` flags.
pub(super) struct Flags {
    pub no_compile: bool,
    pub empty_catalog: bool,
    pub static_file: bool,
}

pub(super) fn generate(settings: Settings, flags: Flags, out: &Output) -> ExitStatus {
    let Flags {
        no_compile,
        empty_catalog,
        static_file,
    } = flags;
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
    let target = mfb_exec::compile::target_dir(&parsed);
    // Column lineage from the compiled SQL (mfb-sql); SQL it cannot parse is a warning.
    let report = mfb_exec::lineage::column_lineage(&parsed, Some(&catalog));
    report::emit(&report.warnings, out);
    out.info("LineageCoverage", &report.coverage.to_string());
    // The parsed project is large and no longer needed: skip its destructor.
    std::mem::forget(parsed);
    let mut artifacts = match mfb_docs::Artifacts::read(&target) {
        Ok(a) => a,
        Err(d) => return super::fail(&[d], out),
    };
    for (node, columns) in report.lineage {
        let entry = artifacts.lineage.0.entry(node).or_default();
        for (column, sources) in columns {
            entry
                .entry(column)
                .or_default()
                .extend(
                    sources
                        .into_iter()
                        .map(|(node, column, kind)| mfb_docs::ColumnSource {
                            node,
                            column,
                            kind: kind.to_owned(),
                        }),
                );
        }
    }
    match mfb_docs::write_site(&artifacts, &target) {
        Ok(index) => out.info(
            "DocsWritten",
            &format!("Docs site written to {}", index.display()),
        ),
        Err(d) => return super::fail(&[d], out),
    }
    if static_file {
        let path = target.join(mfb_docs::STATIC_FILE);
        if let Err(d) = mfb_docs::write_static(&artifacts, &path) {
            return super::fail(&[d], out);
        }
        out.info(
            "StaticDocsWritten",
            &format!("Single-file docs site written to {}", path.display()),
        );
    }
    ExitStatus::Success
}

/// `mfb docs serve`: serves the generated site from the target directory until stopped.
pub(super) fn serve(settings: Settings, host: &str, port: u16, out: &Output) -> ExitStatus {
    let loaded = match mfb_exec::load(settings) {
        Ok(l) => l,
        Err(d) => return super::fail(&d, out),
    };
    let root = &loaded.project.root;
    let target = match &loaded.settings.target_path {
        Some(p) => root.join(p),
        None => root.join(&loaded.project.target_path),
    };
    if !target.join("index.html").is_file() {
        return super::fail(
            &[Diagnostic::error(
                "docs-not-generated",
                format!("{} does not exist", target.join("index.html").display()),
            )
            .with_help("run `mfb docs generate` first")],
            out,
        );
    }
    let listener = match TcpListener::bind((host, port)) {
        Ok(l) => l,
        Err(e) => {
            return super::fail(
                &[Diagnostic::error(
                    "docs-serve-bind",
                    format!("cannot listen on {host}:{port}: {e}"),
                )
                .with_help("choose another port with --port (or stop what uses this one)")],
                out,
            );
        }
    };
    let addr = listener
        .local_addr()
        .map_or_else(|_| format!("{host}:{port}"), |a| a.to_string());
    out.info(
        "DocsServing",
        &format!(
            "Serving docs at http://{addr}/ from {}; press Ctrl+C to stop",
            target.display()
        ),
    );
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let target = target.clone();
        std::thread::spawn(move || {
            let _ = respond(stream, &target);
        });
    }
    ExitStatus::Success
}

/// Answers one HTTP/1.1 request (GET or HEAD) and closes the connection.
fn respond(mut stream: TcpStream, target: &Path) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf)?;
        if n == 0 || head.len() > 16 * 1024 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&head);
    let mut parts = head.lines().next().unwrap_or("").split_whitespace();
    let (method, url) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
    if method != "GET" && method != "HEAD" {
        return reply(
            &mut stream,
            "405 Method Not Allowed",
            "text/plain",
            b"GET only\n",
            true,
        );
    }
    match served_file(target, url) {
        Some(path) => match std::fs::read(&path) {
            Ok(body) => reply(
                &mut stream,
                "200 OK",
                content_type(&path),
                &body,
                method == "GET",
            ),
            Err(_) => reply(
                &mut stream,
                "404 Not Found",
                "text/plain",
                b"not found\n",
                true,
            ),
        },
        None => reply(
            &mut stream,
            "404 Not Found",
            "text/plain",
            b"not found\n",
            true,
        ),
    }
}

/// The file a URL names: the site's own files only (index.html, static_index.html,
/// docs-assets/, the JSON artifacts), never anything outside the target directory.
fn served_file(target: &Path, url: &str) -> Option<PathBuf> {
    let path = url.split(['?', '#']).next().unwrap_or("/");
    let path = percent_decode(path)?;
    let rel = path.trim_start_matches('/');
    let rel = if rel.is_empty() { "index.html" } else { rel };
    if rel
        .split('/')
        .any(|seg| seg.is_empty() || seg == "." || seg == "..")
        || rel.contains(['\\', '\0'])
    {
        return None;
    }
    let allowed = rel.starts_with(&format!("{}/", mfb_docs::ASSETS_DIR))
        || matches!(
            rel,
            "index.html"
                | "static_index.html"
                | "manifest.json"
                | "catalog.json"
                | "run_results.json"
        );
    let file = target.join(rel);
    (allowed && file.is_file()).then_some(file)
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

fn reply(
    stream: &mut TcpStream,
    status: &str,
    content_type: &str,
    body: &[u8],
    with_body: bool,
) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nCache-Control: no-cache\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    if with_body {
        stream.write_all(body)?;
    }
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_only_the_sites_files() {
        let dir = tempfile::tempdir().unwrap();
        let t = dir.path();
        std::fs::create_dir_all(t.join("docs-assets/data")).unwrap();
        std::fs::create_dir_all(t.join("compiled")).unwrap();
        for f in [
            "index.html",
            "docs-assets/site.js",
            "docs-assets/data/chunk-0.js",
            "compiled/x.sql",
            "manifest.json",
        ] {
            std::fs::write(t.join(f), "x").unwrap();
        }
        assert_eq!(served_file(t, "/"), Some(t.join("index.html")));
        assert_eq!(
            served_file(t, "/index.html?x=1"),
            Some(t.join("index.html"))
        );
        assert_eq!(
            served_file(t, "/docs-assets/data/chunk-0.js"),
            Some(t.join("docs-assets/data/chunk-0.js"))
        );
        assert_eq!(
            served_file(t, "/manifest.json"),
            Some(t.join("manifest.json"))
        );
        assert_eq!(served_file(t, "/compiled/x.sql"), None);
        assert_eq!(served_file(t, "/docs-assets/../compiled/x.sql"), None);
        assert_eq!(served_file(t, "/docs-assets/%2e%2e/compiled/x.sql"), None);
        assert_eq!(served_file(t, "/docs-assets/missing.js"), None);
    }
}
