//! Writing the site: `index.html` plus `docs-assets/` (the script, the style sheet and the
//! node details in chunks), or everything in one HTML file.

use std::path::{Path, PathBuf};

use mfb_diagnostics::Diagnostic;

use crate::artifacts::Artifacts;
use crate::site::{self, SiteData};

/// The folder next to index.html that holds the script, the style sheet and the data.
pub const ASSETS_DIR: &str = "docs-assets";
/// The single-file site's name (as `dbt docs generate --static` names it).
pub const STATIC_FILE: &str = "static_index.html";

const TEMPLATE: &str = include_str!("../assets/index.html");
const SCRIPT: &str = include_str!("../assets/site.js");
const STYLE: &str = include_str!("../assets/site.css");

fn write(path: &Path, bytes: &[u8]) -> Result<(), Diagnostic> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| {
            Diagnostic::error(
                "docs-write-failed",
                format!("cannot create {}: {e}", dir.display()),
            )
        })?;
    }
    std::fs::write(path, bytes).map_err(|e| {
        Diagnostic::error(
            "docs-write-failed",
            format!("cannot write {}: {e}", path.display()),
        )
        .with_help("check that the target directory is writable")
    })
}

/// JSON that can sit inside a `<script>` element: `<` only occurs inside JSON strings,
/// where `\u003c` means the same, and then neither `</script>` nor `<!--` can end or
/// confuse the element.
fn inline_json(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value)
        .unwrap_or_default()
        .replace('<', "\\u003c")
}

fn page(data: &SiteData, style: &str, chunks: &str, script: &str) -> String {
    let index = format!(
        "<script type=\"application/json\" id=\"mfb-index\">{}</script>",
        inline_json(&data.index)
    );
    let title = data.index["project"].as_str().unwrap_or("mfb").to_owned();
    TEMPLATE
        .replace("<!--TITLE-->", &html_escape(&title))
        .replace("<!--STYLE-->", style)
        .replace("<!--INDEX-->", &index)
        .replace("<!--CHUNKS-->", chunks)
        .replace("<!--SCRIPT-->", script)
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Writes `index.html` and `docs-assets/` into `target`; returns the index.html path.
pub fn write_site(artifacts: &Artifacts, target: &Path) -> Result<PathBuf, Diagnostic> {
    let data = site::build(artifacts);
    let assets = target.join(ASSETS_DIR);
    let chunks_dir = assets.join("data");
    // Chunks of an earlier, larger project must not linger.
    if chunks_dir.exists() {
        std::fs::remove_dir_all(&chunks_dir).map_err(|e| {
            Diagnostic::error(
                "docs-write-failed",
                format!("cannot remove {}: {e}", chunks_dir.display()),
            )
        })?;
    }
    for (i, chunk) in data.chunks.iter().enumerate() {
        let text = format!("mfbDocsChunk({i},{});\n", inline_json(chunk));
        write(&chunks_dir.join(format!("chunk-{i}.js")), text.as_bytes())?;
    }
    write(&assets.join("site.js"), SCRIPT.as_bytes())?;
    write(&assets.join("site.css"), STYLE.as_bytes())?;
    let html = page(
        &data,
        &format!("<link rel=\"stylesheet\" href=\"{ASSETS_DIR}/site.css\">"),
        &format!("<script>window.mfbDocsData=\"{ASSETS_DIR}/data/\";</script>"),
        &format!("<script src=\"{ASSETS_DIR}/site.js\"></script>"),
    );
    let path = target.join("index.html");
    write(&path, html.as_bytes())?;
    Ok(path)
}

/// Writes the whole site as one self-contained HTML file.
pub fn write_static(artifacts: &Artifacts, path: &Path) -> Result<(), Diagnostic> {
    let data = site::build(artifacts);
    let mut chunks = String::new();
    for (i, chunk) in data.chunks.iter().enumerate() {
        chunks.push_str(&format!(
            "<script type=\"application/json\" id=\"mfb-chunk-{i}\">{}</script>\n",
            inline_json(chunk)
        ));
    }
    let html = page(
        &data,
        &format!("<style>{STYLE}</style>"),
        &chunks,
        &format!("<script>{SCRIPT}</script>"),
    );
    write(path, html.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_assets_cannot_end_their_element() {
        for text in [SCRIPT, STYLE] {
            let lower = text.to_lowercase();
            assert!(!lower.contains("</script") && !lower.contains("</style"));
            assert!(!lower.contains("<!--"));
        }
    }

    #[test]
    fn inline_json_hides_markup() {
        let s = inline_json(&serde_json::json!({"sql": "</script><!-- x"}));
        assert!(!s.contains('<'));
        let back: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back["sql"], "</script><!-- x");
    }

    #[test]
    fn the_site_needs_no_network() {
        for text in [SCRIPT, STYLE, TEMPLATE] {
            assert!(
                !text.contains("http://") && !text.contains("https://"),
                "a URL in an asset"
            );
            assert!(!text.contains("@import"));
        }
    }
}
