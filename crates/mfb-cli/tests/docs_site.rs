//! The docs site in real headless Chromium, driven over WebDriver (chromedriver):
//! the root project built against a real PostgreSQL (catalog, run results, a lineage
//! fixture for the column view, the single-file site, `mfb docs serve`), and a generated
//! 5,000-model project (first paint, graph interactions, search, click-through).
//!
//! Chromium and chromedriver come from `scripts/install-chromium.sh` (test.sh runs it);
//! a missing browser fails these tests. Screenshots are kept in
//! `$CARGO_TARGET_TMPDIR/docs-site-screenshots/` (or `MFB_SCREENSHOT_DIR`).

// The measured timings are part of the report (`cargo test -- --nocapture` shows them).
#![allow(clippy::print_stderr)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mfb_testkit::TestDb;
use serde_json::{Value, json};

mod common;
use common::copy_dir;

/// First paint of the 5,000-model site, and one graph interaction, at most (ms).
const FIRST_PAINT_MS: f64 = 2000.0;
const INTERACTION_MS: f64 = 200.0;

// ---------------------------------------------------------------------------------------
// A WebDriver client over a plain TCP socket (chromedriver listens on localhost).

fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    let body = body.map(Value::to_string).unwrap_or_default();
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to chromedriver");
    s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let (status, bytes) = read_response(&mut s);
    let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, value)
}

/// Reads one HTTP/1.1 response: the status and the body (Content-Length or chunked).
fn read_response(s: &mut impl Read) -> (u16, Vec<u8>) {
    let mut r = BufReader::new(s);
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .unwrap_or("0")
        .parse()
        .unwrap();
    let (mut length, mut chunked) = (None, false);
    loop {
        line.clear();
        r.read_line(&mut line).unwrap();
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let lower = l.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse::<usize>().ok();
        }
        if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
            chunked = true;
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            line.clear();
            r.read_line(&mut line).unwrap();
            let n = usize::from_str_radix(line.trim(), 16).unwrap_or(0);
            if n == 0 {
                break;
            }
            let mut chunk = vec![0; n + 2];
            r.read_exact(&mut chunk).unwrap();
            body.extend_from_slice(&chunk[..n]);
        }
    } else if let Some(n) = length {
        body.resize(n, 0);
        r.read_exact(&mut body).unwrap();
    } else {
        r.read_to_end(&mut body).unwrap();
    }
    (status, body)
}

fn program(env: &str, default: &str) -> PathBuf {
    let path = PathBuf::from(std::env::var(env).unwrap_or_else(|_| default.to_owned()));
    assert!(
        path.is_file(),
        "{} is missing: the docs site tests need headless Chromium and chromedriver; run \
         scripts/install-chromium.sh (apt-get install chromium chromium-driver) or set {env}",
        path.display()
    );
    path
}

struct Browser {
    driver: Child,
    port: u16,
    session: String,
    _profile: tempfile::TempDir,
    shots: PathBuf,
}

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

impl Browser {
    fn start() -> Browser {
        let chromium = program("MFB_CHROMIUM", "/usr/bin/chromium");
        let chromedriver = program("MFB_CHROMEDRIVER", "/usr/bin/chromedriver");
        let port = free_port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let started = Instant::now();
        loop {
            if TcpStream::connect(("127.0.0.1", port)).is_ok()
                && http(port, "GET", "/status", None).1["value"]["ready"] == true
            {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "chromedriver did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = tempfile::tempdir().unwrap();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                    format!("--user-data-dir={}", profile.path().display()),
                    "--window-size=1400,900",
                ],
            },
        }}});
        let (status, v) = http(port, "POST", "/session", Some(&caps));
        assert_eq!(status, 200, "cannot start Chromium: {v}");
        let session = v["value"]["sessionId"].as_str().unwrap().to_owned();
        let shots = std::env::var_os("MFB_SCREENSHOT_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                Path::new(env!("CARGO_TARGET_TMPDIR")).join("docs-site-screenshots")
            });
        std::fs::create_dir_all(&shots).unwrap();
        Browser {
            driver,
            port,
            session,
            _profile: profile,
            shots,
        }
    }

    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let full = format!("/session/{}{path}", self.session);
        let (status, v) = http(self.port, method, &full, body.as_ref());
        assert_eq!(status, 200, "{method} {path}: {v}");
        v["value"].clone()
    }

    fn goto(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({"url": url})));
    }

    /// Runs a script (a function body: `return ...`) in the page.
    fn js(&self, script: &str) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
    }

    /// Waits until a script returns something truthy; returns it.
    fn wait(&self, what: &str, script: &str) -> Value {
        let started = Instant::now();
        loop {
            let v = self.js(script);
            if !(v.is_null() || v == false || v == 0 || v == "") {
                return v;
            }
            if started.elapsed() > Duration::from_secs(30) {
                let shot = self.screenshot("timeout");
                panic!(
                    "timed out waiting for {what} ({script}); page: {}\nscreenshot: {}",
                    self.js("return document.body.innerText.slice(0, 2000)"),
                    shot.display()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn find(&self, css: &str) -> String {
        let v = self.cmd(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        );
        v[ELEMENT].as_str().unwrap().to_owned()
    }

    fn type_into(&self, css: &str, text: &str) {
        let el = self.find(css);
        self.cmd("POST", &format!("/element/{el}/clear"), Some(json!({})));
        self.cmd(
            "POST",
            &format!("/element/{el}/value"),
            Some(json!({"text": text})),
        );
    }

    fn click(&self, css: &str) {
        let el = self.find(css);
        self.cmd("POST", &format!("/element/{el}/click"), Some(json!({})));
    }

    /// A real mouse click at viewport coordinates (the browser's input pipeline).
    fn click_at(&self, x: f64, y: f64) {
        let actions = json!([{"type": "pointer", "id": "mouse",
        "parameters": {"pointerType": "mouse"},
        "actions": [
            {"type": "pointerMove", "duration": 0, "x": x.round() as i64, "y": y.round() as i64, "origin": "viewport"},
            {"type": "pointerDown", "button": 0},
            {"type": "pointerUp", "button": 0},
        ]}]);
        self.cmd("POST", "/actions", Some(json!({"actions": actions})));
        self.cmd("DELETE", "/actions", None);
    }

    fn wheel(&self, x: f64, y: f64, delta: i64) {
        self.cmd(
            "POST",
            "/actions",
            Some(json!({"actions": [{"type": "wheel", "id": "wheel", "actions": [
                {"type": "scroll", "x": x as i64, "y": y as i64, "deltaX": 0, "deltaY": delta, "duration": 0, "origin": "viewport"},
            ]}]})),
        );
    }

    fn drag(&self, from: (f64, f64), to: (f64, f64)) {
        self.cmd(
            "POST",
            "/actions",
            Some(json!({"actions": [{"type": "pointer", "id": "mouse",
                "parameters": {"pointerType": "mouse"},
                "actions": [
                    {"type": "pointerMove", "duration": 0, "x": from.0 as i64, "y": from.1 as i64, "origin": "viewport"},
                    {"type": "pointerDown", "button": 0},
                    {"type": "pointerMove", "duration": 100, "x": ((from.0 + to.0) / 2.0) as i64, "y": ((from.1 + to.1) / 2.0) as i64, "origin": "viewport"},
                    {"type": "pointerMove", "duration": 100, "x": to.0 as i64, "y": to.1 as i64, "origin": "viewport"},
                    {"type": "pointerUp", "button": 0},
                ]}]})),
        );
        self.cmd("DELETE", "/actions", None);
    }

    fn screenshot(&self, name: &str) -> PathBuf {
        let v = self.cmd("GET", "/screenshot", None);
        let png = base64_decode(v.as_str().unwrap_or_default());
        let path = self.shots.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }

    /// Every resource the page loaded came from `origin` (no network).
    fn assert_offline(&self, origin: &str) {
        let urls = self.js(
            "return performance.getEntriesByType('resource').map(e => e.name).concat([location.href])",
        );
        for u in urls.as_array().unwrap() {
            let u = u.as_str().unwrap();
            assert!(
                u.starts_with(origin),
                "the site loaded {u} (not from {origin})"
            );
        }
    }

    /// The site is loaded and has painted its first page.
    fn wait_ready(&self) {
        self.wait(
            "the site to be ready",
            "return document.body.dataset.ready === '1'",
        );
    }

    fn route(&self, hash: &str) {
        self.js(&format!("location.hash = {}; return 1", json!(hash)));
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = std::panic::catch_unwind(|| {
            http(
                self.port,
                "DELETE",
                &format!("/session/{}", self.session),
                None,
            )
        });
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let digits: Vec<u8> = s.bytes().filter_map(val).collect();
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for group in digits.chunks(4) {
        let n = group
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, d)| acc | (u32::from(*d) << (18 - 6 * i)));
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..group.len()]);
    }
    out
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn file_url(path: &Path) -> String {
    format!("file://{}", path.canonicalize().unwrap().display())
}

// ---------------------------------------------------------------------------------------
// Projects

/// Runs mfb (tests/common) and requires success.
fn mfb(dir: &Path, args: &[&str]) -> String {
    let (code, text) = common::mfb(dir, args);
    assert_eq!(code, 0, "mfb {args:?} failed:\n{text}");
    text
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The repository's own project (the flagship demo) in a temporary folder.
fn root_project(db: &TestDb) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = repo_root();
    std::fs::copy(
        root.join("dbt_project.yml"),
        dir.path().join("dbt_project.yml"),
    )
    .unwrap();
    for sub in [
        "models",
        "macros",
        "seeds",
        "tests",
        "analyses",
        "snapshots",
    ] {
        if root.join(sub).is_dir() {
            copy_dir(&root.join(sub), &dir.path().join(sub));
        }
    }
    db.write_profiles_yml(dir.path(), "mfb", "docs_site")
        .unwrap();
    dir
}

/// Column lineage for the root project's funnel mart, written by hand from its SQL
/// (mfb-sql will compute it): the column view must show exactly these upstream columns.
fn lineage_fixture() -> mfb_docs::ColumnLineage {
    serde_json::from_value(json!({
        "model.mfb.mart_screener_funnel": {
            "white_label_id": [{"node": "model.mfb.fct_screens", "column": "white_label_id", "kind": "direct"}],
            "total_estimated_annual_value": [{"node": "model.mfb.fct_screens", "column": "total_estimated_annual_value", "kind": "aggregate"}],
        },
        "model.mfb.fct_screens": {
            "white_label_id": [{"node": "model.mfb.stg_screens", "column": "white_label_id", "kind": "direct"}],
            "total_estimated_annual_value": [{"node": "model.mfb.fct_program_eligibility", "column": "estimated_annual_value", "kind": "aggregate"}],
        },
    }))
    .unwrap()
}

fn perf_entries(b: &Browser) -> Vec<(String, f64)> {
    b.js("return window.mfbDocsPerf")
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| Some((e["kind"].as_str()?.to_owned(), e["ms"].as_f64()?)))
        .collect()
}

// ---------------------------------------------------------------------------------------

#[test]
fn root_project_site_in_chromium() {
    let db = TestDb::create("mfb_docs_site");
    let project = root_project(&db);
    let p = project.path();
    mfb(p, &["build"]);
    mfb(p, &["docs", "generate", "--static"]);
    let target = p.join("target");
    let b = Browser::start();

    // the overview, from disk
    b.goto(&file_url(&target.join("index.html")));
    b.wait_ready();
    let origin = format!("file://{}", target.canonicalize().unwrap().display());
    assert_eq!(
        b.js("return document.querySelector('#main h1').textContent"),
        "mfb"
    );
    b.screenshot("root-overview");

    // search finds a model by one of its columns
    b.type_into("#search", "estimated_annual_value");
    let hit = b.wait(
        "a search result",
        "const a = document.querySelector('#results a.result[data-id=\"model.mfb.fct_program_eligibility\"]'); return a && a.textContent",
    );
    assert!(
        hit.as_str()
            .unwrap()
            .contains("column estimated_annual_value"),
        "{hit}"
    );
    b.screenshot("root-search");
    b.click("#results a.result[data-id=\"model.mfb.fct_program_eligibility\"]");
    b.wait(
        "the model's page",
        "const p = document.querySelector('.node-page'); return p && p.dataset.id === 'model.mfb.fct_program_eligibility'",
    );
    let page = b.js(
        "return {
            cols: [...document.querySelectorAll('#columns tr[data-col]')].map(r => r.dataset.col),
            types: [...document.querySelectorAll('#columns tr[data-col] td:nth-child(2)')].map(td => td.textContent),
            tests: document.querySelectorAll('#columns .test').length,
            passing: document.querySelectorAll('#columns .test .st-ok').length,
            run: document.querySelector('#run').textContent,
            rls: document.querySelector('#rls').textContent,
            up: [...document.querySelectorAll('#depends-on a')].map(a => a.textContent),
            down: [...document.querySelectorAll('#referenced-by a')].map(a => a.textContent),
            raw: document.querySelector('#code-raw').textContent,
            compiled: document.querySelector('#code-compiled').textContent,
            config: document.querySelector('#config').textContent,
        }",
    );
    let cols: Vec<&str> = page["cols"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(cols.contains(&"estimated_annual_value"), "{page}");
    let at = cols
        .iter()
        .position(|c| *c == "estimated_annual_value")
        .unwrap();
    assert!(
        page["types"][at].as_str().unwrap().starts_with("numeric"),
        "the catalog's column type: {page}"
    );
    assert!(page["tests"].as_u64().unwrap() > 0, "{page}");
    assert_eq!(
        page["tests"], page["passing"],
        "every test of it passed: {page}"
    );
    assert!(page["run"].as_str().unwrap().contains("success"), "{page}");
    // The root project's marts are protected by `+rls` (role_map on white_label_id).
    let rls = page["rls"].as_str().unwrap();
    assert!(
        rls.contains("RLS protected") && rls.contains("role_map") && rls.contains("white_label_id"),
        "{page}"
    );
    assert!(
        page["down"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d == "fct_screens"),
        "{page}"
    );
    assert!(page["raw"].as_str().unwrap().contains("ref("), "{page}");
    assert!(
        !page["compiled"].as_str().unwrap().contains("ref("),
        "{page}"
    );
    assert!(
        page["compiled"].as_str().unwrap().contains("\"docs_site"),
        "{page}"
    );
    assert!(
        page["config"]
            .as_str()
            .unwrap()
            .contains("\"materialized\": \"table\""),
        "{page}"
    );
    b.screenshot("root-model-page");

    // the graph: focus on fct_screens, click the funnel mart, its page opens
    b.route("#!/graph/model.mfb.fct_screens?up=2&down=2");
    b.wait(
        "the graph",
        "return window.mfbDocsGraph.shown && window.mfbDocsGraph.shown.length",
    );
    let shown = b.js("return window.mfbDocsGraph.shown.length");
    assert!(shown.as_u64().unwrap() >= 5, "{shown}");
    b.screenshot("root-graph-focus");
    let at = b.js("return window.mfbDocsGraph.screenPos('model.mfb.mart_screener_funnel')");
    b.click_at(at["x"].as_f64().unwrap(), at["y"].as_f64().unwrap());
    b.wait(
        "the clicked node's page",
        "const p = document.querySelector('.node-page'); return p && p.dataset.id === 'model.mfb.mart_screener_funnel'",
    );

    // the whole-project graph
    b.route("#!/graph");
    b.wait("the whole graph", "return window.mfbDocsGraph.visible > 0");
    b.screenshot("root-graph");

    // security overview: every relation, with its status
    b.route("#!/security");
    b.wait(
        "the security page",
        "return document.querySelector('table.security')",
    );
    let rows = b.js("return document.querySelectorAll('table.security tbody tr').length");
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(target.join("manifest.json")).unwrap())
            .unwrap();
    let relations = manifest["nodes"]
        .as_object()
        .unwrap()
        .values()
        .filter(|n| {
            matches!(
                n["resource_type"].as_str(),
                Some("model" | "seed" | "snapshot")
            ) && n["config"]["materialized"] != "ephemeral"
        })
        .count()
        + manifest["sources"].as_object().unwrap().len();
    assert_eq!(rows, json!(relations));
    b.screenshot("root-security");
    b.assert_offline(&origin);

    // the column view, with the hand-written lineage
    let mut artifacts = mfb_docs::Artifacts::read(&target).unwrap();
    artifacts.lineage = lineage_fixture();
    let lineage_site = p.join("lineage-site");
    let index = mfb_docs::write_site(&artifacts, &lineage_site).unwrap();
    b.goto(&format!(
        "{}#!/node/model.mfb.mart_screener_funnel",
        file_url(&index)
    ));
    b.wait_ready();
    b.wait(
        "the lineage column",
        "return document.querySelector('#show-columns')",
    );
    let lin = b.js("return document.querySelector('#columns tr[data-col=\"total_estimated_annual_value\"]').textContent");
    assert!(
        lin.as_str()
            .unwrap()
            .contains("fct_screens.total_estimated_annual_value"),
        "{lin}"
    );
    b.click("#show-columns");
    b.wait(
        "the column view",
        "return document.querySelector('#column-view')",
    );
    let seen = b.js(
        "return [...document.querySelectorAll('.cl-node')].flatMap(n => [...n.querySelectorAll('.cl-col')].map(c => n.dataset.id + '.' + c.dataset.col)).sort()",
    );
    let upstream: Vec<&str> = seen
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .filter(|s| !s.starts_with("model.mfb.mart_screener_funnel."))
        .collect();
    assert_eq!(
        upstream,
        [
            "model.mfb.fct_program_eligibility.estimated_annual_value",
            "model.mfb.fct_screens.total_estimated_annual_value",
            "model.mfb.fct_screens.white_label_id",
            "model.mfb.stg_screens.white_label_id",
        ]
    );
    let edges = b.js("return document.querySelectorAll('#column-view path').length");
    assert_eq!(edges, json!(4));
    b.click(".cl-node[data-id=\"model.mfb.mart_screener_funnel\"] .cl-col[data-col=\"total_estimated_annual_value\"]");
    let lit =
        b.js("return [...document.querySelectorAll('.cl-col.lit')].map(c => c.dataset.key).sort()");
    assert_eq!(
        lit,
        json!([
            "model.mfb.fct_program_eligibility.estimated_annual_value",
            "model.mfb.fct_screens.total_estimated_annual_value",
            "model.mfb.mart_screener_funnel.total_estimated_annual_value",
        ])
    );
    b.screenshot("root-column-lineage");

    // the single file: no docs-assets/, details inlined
    b.goto(&format!(
        "{}#!/node/model.mfb.fct_screens",
        file_url(&target.join("static_index.html"))
    ));
    b.wait_ready();
    b.wait(
        "a page of the single-file site",
        "const c = document.querySelector('#code-compiled'); return c && c.textContent.includes('select')",
    );
    let loaded = b.js("return performance.getEntriesByType('resource').length");
    assert_eq!(loaded, json!(0), "the single file loads nothing else");

    // mfb docs serve
    let mut server = Command::new(env!("CARGO_BIN_EXE_mfb"))
        .args(["docs", "serve", "--port", "0", "--project-dir"])
        .arg(p)
        .arg("--profiles-dir")
        .arg(p)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start mfb docs serve");
    let mut line = String::new();
    let mut out = BufReader::new(server.stdout.take().unwrap());
    while !line.contains("Serving docs at ") {
        line.clear();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "mfb docs serve ended"
        );
    }
    let url = line
        .split("Serving docs at ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let port: u16 = url
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "GET /compiled/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    assert_eq!(
        read_response(&mut s).0,
        404,
        "only the site's files are served"
    );
    b.goto(&format!("{url}#!/node/model.mfb.fct_screens"));
    b.wait_ready();
    b.wait(
        "a page served over HTTP",
        "const c = document.querySelector('#code-compiled'); return c && c.textContent.includes('select')",
    );
    b.assert_offline(url.trim_end_matches('/'));
    b.screenshot("root-served");
    let _ = server.kill();
    let _ = server.wait();
}

#[test]
fn five_thousand_models_site_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("n5000");
    let generator = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gen_project.py");
    let started = Instant::now();
    let out = Command::new("python3")
        .arg(&generator)
        .args(["--models", "5000", "--out"])
        .arg(&p)
        .output()
        .expect("python3 runs the project generator");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let generated = started.elapsed();
    // no database, and no compiled SQL: the site's size and speed do not depend on it
    mfb(&p, &["docs", "generate", "--empty-catalog", "--no-compile"]);
    let built = started.elapsed() - generated;
    let target = p.join("target");
    let b = Browser::start();

    // first paint, from disk, cold
    b.goto(&file_url(&target.join("index.html")));
    b.wait_ready();
    // Chromium records the paint entry shortly after it happens (its time is measured from
    // navigation start, so reading it later does not change it): wait until it is there.
    let deadline = Instant::now() + Duration::from_secs(10);
    let t = loop {
        let t = b.js(
            "const fcp = performance.getEntriesByName('first-contentful-paint')[0];
             return {fcp: fcp ? fcp.startTime : null, ready: window.mfbDocsReady, nodes: JSON.parse(document.getElementById('mfb-index').textContent).nodes.length}",
        );
        if !t["fcp"].is_null() || Instant::now() > deadline {
            break t;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let fcp = t["fcp"].as_f64().expect("a first contentful paint");
    let ready = t["ready"].as_f64().unwrap();
    eprintln!(
        "5,000 models: generated in {generated:?}, docs generate {built:?}; first contentful paint {fcp:.0} ms, site ready {ready:.0} ms"
    );
    assert!(t["nodes"].as_u64().unwrap() > 5000, "{t}");
    assert!(fcp < FIRST_PAINT_MS, "first paint took {fcp} ms");
    assert!(ready < FIRST_PAINT_MS, "the first page took {ready} ms");
    b.assert_offline(&format!(
        "file://{}",
        target.canonicalize().unwrap().display()
    ));
    b.screenshot("n5000-overview");

    // search by a column name
    b.type_into("#search", "customer_id");
    let first = b.wait(
        "search results",
        "const a = document.querySelector('#results a.result'); return a && a.textContent",
    );
    assert!(
        first.as_str().unwrap().contains("column customer_id"),
        "{first}"
    );

    // the whole graph: zoom and pan, each drawn within the limit
    b.route("#!/graph");
    b.wait("the graph", "return window.mfbDocsGraph.visible > 0");
    b.js("window.mfbDocsPerf.length = 0; return 1");
    let (cx, cy) = (800.0, 500.0);
    for delta in [-300, -300, -300, 200, -300] {
        b.wheel(cx, cy, delta);
    }
    b.drag((700.0, 450.0), (900.0, 550.0));
    b.wait(
        "frames drawn",
        "return window.mfbDocsPerf.filter(e => e.kind === 'pan').length > 0",
    );
    b.screenshot("n5000-graph");
    let perf = perf_entries(&b);
    eprintln!("5,000 models: graph interactions (ms): {perf:?}");
    assert!(perf.iter().any(|(k, _)| k == "zoom"), "{perf:?}");
    for (kind, ms) in &perf {
        assert!(*ms < INTERACTION_MS, "{kind} took {ms} ms");
    }

    // focus on one mart with 3 hops each way, then click a node: its page opens
    let mart = b.js(
        "const d = JSON.parse(document.getElementById('mfb-index').textContent);
         const n = d.nodes.find(n => n.name.startsWith('fct_') && n.up.length >= 2); return n.id",
    );
    let mart = mart.as_str().unwrap().to_owned();
    b.route(&format!("#!/graph/{mart}?up=3&down=3"));
    b.wait(
        "the focused graph",
        "return window.mfbDocsGraph.focus !== null && window.mfbDocsGraph.visible > 0",
    );
    b.screenshot("n5000-graph-focus");
    b.js(&format!(
        "window.mfbDocsGraph.centerOn({}, 1); return 1",
        json!(mart)
    ));
    b.js("window.mfbDocsPerf.length = 0; return 1");
    let at = b.js(&format!(
        "return window.mfbDocsGraph.screenPos({})",
        json!(mart)
    ));
    b.click_at(at["x"].as_f64().unwrap(), at["y"].as_f64().unwrap());
    b.wait(
        "the clicked node's page",
        &format!(
            "const p = document.querySelector('.node-page'); return p && p.dataset.id === {}",
            json!(mart)
        ),
    );
    let opened = b.wait(
        "the time to open",
        "const e = window.mfbDocsPerf.find(e => e.kind === 'open'); return e && e.ms",
    );
    eprintln!("5,000 models: click to page {opened} ms");
    assert!(
        opened.as_f64().unwrap() < INTERACTION_MS,
        "opening a page took {opened} ms"
    );
    b.screenshot("n5000-model-page");
}
