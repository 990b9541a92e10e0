//! `mfb deps` end to end, with no network: local packages (one pulled in transitively), a
//! git package from a bare repository the test creates with the system `git`, a package hub
//! served from `file://` fixtures (`MFB_HUB_URL`), the lock file's round trip, a version
//! conflict, an unreachable hub, `--add-package`, `private:` packages and a renamed hub
//! package. After each install, `mfb compile` must use the packages' macros.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const PROFILES: &str = "deps:\n  target: dev\n  outputs:\n    dev:\n      type: postgres\n      host: 127.0.0.1\n      port: 5432\n      user: mfb\n      password: mfb\n      dbname: mfb\n      schema: analytics\n      threads: 1\n";

/// An unreachable hub: nothing listens on the discard port.
const NO_HUB: &str = "http://127.0.0.1:9/";

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A root project `proj` under `dir` whose model calls `calls` (Jinja), with `packages`.
fn project(dir: &Path, packages: &str, calls: &str) -> PathBuf {
    let root = dir.join("proj");
    write(
        &root.join("dbt_project.yml"),
        "name: proj\nversion: '1.0'\nprofile: deps\n",
    );
    write(&root.join("profiles.yml"), PROFILES);
    write(&root.join("packages.yml"), packages);
    write(
        &root.join("models/m.sql"),
        &format!("select '{calls}' as v\n"),
    );
    root
}

/// A package project `name` in `dir` with one macro `name.hello()` returning `says`.
fn package(dir: &Path, name: &str, says: &str, packages: Option<&str>) {
    write(
        &dir.join("dbt_project.yml"),
        &format!("name: {name}\nversion: '1.0'\n"),
    );
    write(
        &dir.join("macros/hello.sql"),
        &format!("{{% macro hello() %}}{says}{{% endmacro %}}\n"),
    );
    if let Some(p) = packages {
        write(&dir.join("packages.yml"), p);
    }
}

fn mfb(root: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mfb"));
    cmd.args(args)
        .current_dir(root)
        .env("DBT_PROFILES_DIR", root)
        .env("MFB_HUB_URL", NO_HUB)
        .env_remove("DBT_PACKAGE_HUB_URL")
        .env_remove("MFB_PRIVATE_GIT_URL")
        .env_remove("MFB_PRIVATE_GIT_URL_GITHUB");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn ok(o: Output) -> String {
    assert!(o.status.success(), "mfb failed:\n{}", text(&o));
    text(&o)
}

/// Compiles the project and returns the compiled model.
fn compiled(root: &Path) -> String {
    ok(mfb(root, &["compile"], &[]));
    std::fs::read_to_string(root.join("target/compiled/proj/models/m.sql")).unwrap()
}

fn lock(root: &Path) -> String {
    std::fs::read_to_string(root.join("package-lock.yml")).unwrap()
}

fn git(dir: &Path, args: &[&str]) -> String {
    let o = Command::new("git")
        .args(["-c", "user.email=t@example.com", "-c", "user.name=t"])
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "protocol.file.allow=always",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).trim().to_owned()
}

#[test]
fn local_packages_with_a_transitive_one_install_and_compile() {
    let tmp = tempfile::tempdir().unwrap();
    // pkg_a's own local path is relative to the root project, as dbt reads it.
    package(
        &tmp.path().join("pkgs/a_dir"),
        "pkg_a",
        "from a",
        Some("packages:\n  - local: ../pkgs/b_dir\n"),
    );
    package(&tmp.path().join("pkgs/b_dir"), "pkg_b", "from b", None);
    let root = project(
        tmp.path(),
        "packages:\n  - local: ../pkgs/a_dir\n",
        "{{ pkg_a.hello() }} {{ pkg_b.hello() }}",
    );
    let out = ok(mfb(&root, &["deps"], &[]));
    assert!(out.contains("Installing ../pkgs/a_dir"), "{out}");
    assert!(
        out.contains("Installed from <local @ ../pkgs/b_dir>"),
        "{out}"
    );
    for name in ["pkg_a", "pkg_b"] {
        let meta = std::fs::symlink_metadata(root.join("dbt_packages").join(name)).unwrap();
        assert!(
            meta.file_type().is_symlink(),
            "{name} is linked like dbt does"
        );
    }
    let lock = lock(&root);
    assert!(
        lock.starts_with("packages:\n  - local: ../pkgs/a_dir\n    name: pkg_a\n  - local: ../pkgs/b_dir\n    name: pkg_b\nsha1_hash: "),
        "{lock}"
    );
    assert!(compiled(&root).contains("select 'from a from b' as v"));
    ok(mfb(&root, &["parse"], &[]));
}

#[test]
fn env_var_in_packages_yml_is_rendered() {
    let tmp = tempfile::tempdir().unwrap();
    package(&tmp.path().join("pkgs/a_dir"), "pkg_a", "from a", None);
    let root = project(
        tmp.path(),
        "packages:\n  - local: \"{{ env_var('DEPS_PKG_DIR') }}\"\n",
        "{{ pkg_a.hello() }}",
    );
    ok(mfb(&root, &["deps"], &[("DEPS_PKG_DIR", "../pkgs/a_dir")]));
    assert!(lock(&root).starts_with("packages:\n  - local: ../pkgs/a_dir\n    name: pkg_a\n"));
    assert!(compiled(&root).contains("select 'from a' as v"));
}

#[test]
fn a_missing_local_package_is_an_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let root = project(tmp.path(), "packages:\n  - local: ../nowhere\n", "x");
    let o = mfb(&root, &["deps"], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("local package `../nowhere` has no dbt_project.yml"),
        "{}",
        text(&o)
    );
}

/// A bare repository holding `sub/` (project `git_pkg`): tag v1.0 says "v1", main says "v2".
fn git_repo(dir: &Path) -> (String, String, String) {
    let work = dir.join("gitwork");
    std::fs::create_dir_all(&work).unwrap();
    git(&work, &["init", "-q"]);
    package(&work.join("sub"), "git_pkg", "v1", None);
    write(&work.join("README.md"), "the package is in sub/\n");
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-qm", "v1"]);
    git(&work, &["tag", "v1.0"]);
    let v1 = git(&work, &["rev-parse", "HEAD"]);
    package(&work.join("sub"), "git_pkg", "v2", None);
    git(&work, &["commit", "-qam", "v2"]);
    let v2 = git(&work, &["rev-parse", "HEAD"]);
    git(dir, &["clone", "-q", "--bare", "gitwork", "repo.git"]);
    let url = format!("file://{}", dir.join("repo.git").display());
    (url, v1, v2)
}

#[test]
fn git_package_at_a_tag_in_a_subdirectory() {
    let tmp = tempfile::tempdir().unwrap();
    let (url, v1, _) = git_repo(tmp.path());
    let root = project(
        tmp.path(),
        &format!("packages:\n  - git: \"{url}\"\n    revision: v1.0\n    subdirectory: sub\n"),
        "{{ git_pkg.hello() }}",
    );
    let out = ok(mfb(&root, &["deps"], &[]));
    assert!(
        out.contains(&format!("Installed from revision {v1}")),
        "{out}"
    );
    assert!(out.contains("and subdirectory sub"), "{out}");
    let installed = root.join("dbt_packages/git_pkg");
    assert!(installed.join("dbt_project.yml").is_file());
    assert!(
        !installed.join("README.md").exists(),
        "only the subdirectory is installed"
    );
    let lock = lock(&root);
    assert!(
        lock.starts_with(&format!(
            "packages:\n  - git: {url}\n    name: git_pkg\n    revision: {v1}\n    subdirectory: sub\nsha1_hash: "
        )),
        "{lock}"
    );
    assert!(compiled(&root).contains("select 'v1' as v"));
}

#[test]
fn lock_file_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let (url, v1, v2) = git_repo(tmp.path());
    package(&tmp.path().join("other"), "other_pkg", "other", None);
    let git_spec =
        format!("packages:\n  - git: \"{url}\"\n    revision: main\n    subdirectory: sub\n");
    let root = project(tmp.path(), &git_spec, "{{ git_pkg.hello() }}");
    let repo_work = tmp.path().join("gitwork");

    // First run resolves `main` to its commit and locks it.
    let out = ok(mfb(&root, &["deps"], &[]));
    assert!(out.contains("Updating lock file"), "{out}");
    let first = lock(&root);
    assert!(first.contains(&format!("revision: {v2}")), "{first}");

    // main moves on; with the spec unchanged, deps installs what the lock says.
    package(&repo_work.join("sub"), "git_pkg", "v3", None);
    git(&repo_work, &["commit", "-qam", "v3"]);
    git(&repo_work, &["push", "-q", "../repo.git", "main"]);
    let out = ok(mfb(&root, &["deps"], &[]));
    assert!(!out.contains("Updating lock file"), "{out}");
    assert!(
        out.contains(&format!("Installed from revision {v2}")),
        "{out}"
    );
    assert_eq!(lock(&root), first);
    assert!(compiled(&root).contains("select 'v2' as v"));

    // --upgrade resolves again.
    let out = ok(mfb(&root, &["deps", "--upgrade"], &[]));
    assert!(out.contains("Updating lock file"), "{out}");
    assert!(!lock(&root).contains(&v2));
    assert!(compiled(&root).contains("select 'v3' as v"));

    // A changed spec resolves again, and a package no longer listed is removed.
    write(
        &root.join("packages.yml"),
        &format!(
            "packages:\n  - local: ../other\n  - git: \"{url}\"\n    revision: {v1}\n    subdirectory: sub\n"
        ),
    );
    let out = ok(mfb(&root, &["deps"], &[]));
    assert!(out.contains("Updating lock file"), "{out}");
    let changed = lock(&root);
    assert!(
        changed.contains("name: other_pkg") && changed.contains(&format!("revision: {v1}")),
        "{changed}"
    );
    assert_ne!(
        changed.lines().last(),
        first.lines().last(),
        "the hash follows the spec"
    );
    assert!(compiled(&root).contains("select 'v1' as v"));

    // --lock rewrites the lock and installs nothing.
    write(
        &root.join("packages.yml"),
        "packages:\n  - local: ../other\n",
    );
    ok(mfb(&root, &["deps", "--lock"], &[]));
    assert!(!lock(&root).contains("git_pkg"));
    assert!(
        root.join("dbt_packages/git_pkg").exists(),
        "--lock does not touch dbt_packages/"
    );
    ok(mfb(&root, &["deps"], &[]));
    assert!(
        !root.join("dbt_packages/git_pkg").exists(),
        "a package no longer listed is removed"
    );
}

/// A package hub under `dir/hub` served as `file://`: `fixture/utils` in versions 0.9.0,
/// 1.0.0, 1.1.0 and 2.0.0 (each a tarball whose macro says its version).
fn hub(dir: &Path) -> String {
    let hub = dir.join("hub");
    let mut versions = serde_json::Map::new();
    for v in ["0.9.0", "1.0.0", "1.1.0", "2.0.0"] {
        let src = dir.join("tarballs").join(format!("utils-{v}"));
        package(&src, "utils", &format!("utils {v}"), None);
        let tarball = dir.join("tarballs").join(format!("utils-{v}.tar.gz"));
        let o = Command::new("tar")
            .arg("-czf")
            .arg(&tarball)
            .arg("-C")
            .arg(dir.join("tarballs"))
            .arg(format!("utils-{v}"))
            .output()
            .unwrap();
        assert!(o.status.success());
        versions.insert(
            v.into(),
            serde_json::json!({
                "id": format!("fixture/utils/{v}"),
                "name": "utils",
                "version": v,
                "packages": [],
                "require_dbt_version": [">=1.0.0", "<3.0.0"],
                "downloads": {"tarball": format!("file://{}", tarball.display()), "format": "tgz"}
            }),
        );
    }
    // fixture/helpers 1.0.0 needs utils below 1.1.0 (a transitive requirement).
    let src = dir.join("tarballs/helpers-1.0.0");
    package(&src, "helpers", "helpers 1.0.0", None);
    let tarball = dir.join("tarballs/helpers-1.0.0.tar.gz");
    let o = Command::new("tar")
        .arg("-czf")
        .arg(&tarball)
        .arg("-C")
        .arg(dir.join("tarballs"))
        .arg("helpers-1.0.0")
        .output()
        .unwrap();
    assert!(o.status.success());
    write(
        &hub.join("api/v1/fixture/helpers.json"),
        &serde_json::json!({"name": "helpers", "namespace": "fixture", "latest": "1.0.0", "versions": {"1.0.0": {
            "name": "helpers",
            "packages": [{"package": "fixture/utils", "version": [">=1.0.0", "<1.1.0"]}],
            "downloads": {"tarball": format!("file://{}", tarball.display())}
        }}})
        .to_string(),
    );
    // oldorg/utils was renamed fixture/utils: its document says so (`redirectnamespace`)
    // and still lists its own versions (only 1.0.0 here).
    let old = versions["1.0.0"].clone();
    write(
        &hub.join("api/v1/oldorg/utils.json"),
        &serde_json::json!({"name": "utils", "namespace": "oldorg", "redirectnamespace": "fixture",
            "latest": "1.0.0", "versions": {"1.0.0": old}})
        .to_string(),
    );
    write(
        &hub.join("api/v1/index.json"),
        r#"["fixture/utils", "fixture/helpers", "oldorg/utils"]"#,
    );
    write(
        &hub.join("api/v1/fixture/utils.json"),
        &serde_json::json!({"name": "utils", "namespace": "fixture", "latest": "2.0.0", "versions": versions}).to_string(),
    );
    format!("file://{}/", hub.display())
}

#[test]
fn hub_package_resolves_the_highest_version_in_range() {
    let tmp = tempfile::tempdir().unwrap();
    let url = hub(tmp.path());
    let root = project(
        tmp.path(),
        "packages:\n  - package: fixture/utils\n    version: [\">=1.0.0\", \"<2.0.0\"]\n",
        "{{ utils.hello() }}",
    );
    let out = ok(mfb(&root, &["deps"], &[("MFB_HUB_URL", &url)]));
    assert!(out.contains("Installed from version 1.1.0"), "{out}");
    assert!(out.contains("Updated version available: 2.0.0"), "{out}");
    let lock = lock(&root);
    assert!(
        lock.starts_with(
            "packages:\n  - name: utils\n    package: fixture/utils\n    version: 1.1.0\n"
        ),
        "{lock}"
    );
    assert!(compiled(&root).contains("select 'utils 1.1.0' as v"));
}

#[test]
fn a_transitive_hub_requirement_narrows_the_pick() {
    let tmp = tempfile::tempdir().unwrap();
    let url = hub(tmp.path());
    let root = project(
        tmp.path(),
        "packages:\n  - package: fixture/utils\n    version: [\">=1.0.0\", \"<2.0.0\"]\n  - package: fixture/helpers\n    version: 1.0.0\n",
        "{{ utils.hello() }} {{ helpers.hello() }}",
    );
    ok(mfb(&root, &["deps"], &[("MFB_HUB_URL", &url)]));
    let lock = lock(&root);
    assert!(
        lock.starts_with("packages:\n  - name: utils\n    package: fixture/utils\n    version: 1.0.0\n  - name: helpers\n    package: fixture/helpers\n    version: 1.0.0\n"),
        "{lock}"
    );
    assert!(compiled(&root).contains("select 'utils 1.0.0 helpers 1.0.0' as v"));
}

#[test]
fn one_git_repository_at_two_revisions_is_a_conflict() {
    let tmp = tempfile::tempdir().unwrap();
    let (url, v1, _) = git_repo(tmp.path());
    package(
        &tmp.path().join("a"),
        "pkg_a",
        "a",
        Some(&format!(
            "packages:\n  - git: \"{url}\"\n    revision: main\n    subdirectory: sub\n"
        )),
    );
    let root = project(
        tmp.path(),
        &format!(
            "packages:\n  - git: \"{url}\"\n    revision: {v1}\n    subdirectory: sub\n  - local: ../a\n"
        ),
        "x",
    );
    let o = mfb(&root, &["deps"], &[]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(t.contains("is asked for at different revisions"), "{t}");
    assert!(
        t.contains(&format!(
            "the root project (packages.yml) asks for revision `{v1}`"
        )),
        "{t}"
    );
    assert!(
        t.contains("package `pkg_a` (../a/packages.yml) asks for revision `main`"),
        "{t}"
    );
}

#[test]
fn conflicting_hub_requirements_name_who_asked_for_what() {
    let tmp = tempfile::tempdir().unwrap();
    let url = hub(tmp.path());
    package(
        &tmp.path().join("old"),
        "old_pkg",
        "old",
        Some("packages:\n  - package: fixture/utils\n    version: 0.9.0\n"),
    );
    let root = project(
        tmp.path(),
        "packages:\n  - package: fixture/utils\n    version: [\">=1.0.0\", \"<2.0.0\"]\n  - local: ../old\n",
        "x",
    );
    let o = mfb(&root, &["deps"], &[("MFB_HUB_URL", &url)]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(
        t.contains(
            "error[deps-version-conflict]: no version of `fixture/utils` meets every requirement"
        ),
        "{t}"
    );
    assert!(
        t.contains("the root project (packages.yml) asks for >=1.0.0, <2.0.0"),
        "{t}"
    );
    assert!(
        t.contains("package `old_pkg` (../old/packages.yml) asks for 0.9.0"),
        "{t}"
    );
    assert!(!root.join("package-lock.yml").exists());
}

#[test]
fn unreachable_hub_names_the_packages_and_keeps_what_is_installed() {
    let tmp = tempfile::tempdir().unwrap();
    let url = hub(tmp.path());
    package(&tmp.path().join("other"), "other_pkg", "other", None);
    let root = project(
        tmp.path(),
        "packages:\n  - package: fixture/utils\n    version: 1.0.0\n  - local: ../other\n",
        "{{ utils.hello() }}",
    );
    ok(mfb(&root, &["deps"], &[("MFB_HUB_URL", &url)]));
    let locked = lock(&root);

    // Offline, from the lock (spec unchanged) and when resolving afresh: both fail the same way.
    for args in [&["deps"][..], &["deps", "--upgrade"][..]] {
        let o = mfb(&root, args, &[("MFB_HUB_URL", NO_HUB)]);
        let t = text(&o);
        assert_ne!(o.status.code(), Some(0), "{t}");
        assert!(
            t.contains("error[deps-fetch-failed]: could not fetch package `fixture/utils`"),
            "{t}"
        );
        assert!(t.contains("are kept as they were"), "{t}");
        assert!(!t.contains("could not fetch package `../other`"), "{t}");
        assert_eq!(lock(&root), locked, "the lock is left alone");
        assert!(root.join("dbt_packages/utils/dbt_project.yml").is_file());
        assert!(root.join("dbt_packages/other_pkg").exists());
        assert!(compiled(&root).contains("select 'utils 1.0.0' as v"));
    }
}

#[test]
fn a_hub_package_the_index_does_not_list_is_named_with_a_suggestion() {
    let tmp = tempfile::tempdir().unwrap();
    let url = hub(tmp.path());
    let root = project(
        tmp.path(),
        "packages:\n  - package: fixture/utilz\n    version: 1.0.0\n",
        "x",
    );
    let o = mfb(&root, &["deps"], &[("MFB_HUB_URL", &url)]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(t.contains("error[deps-hub-unknown-package]: the root project (packages.yml) asks for `fixture/utilz`"), "{t}");
    assert!(t.contains("did you mean `fixture/utils`?"), "{t}");
}

#[test]
fn no_packages_file_is_not_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let root = project(tmp.path(), "", "x");
    std::fs::remove_file(root.join("packages.yml")).unwrap();
    let out = ok(mfb(&root, &["deps"], &[]));
    assert!(out.contains("No packages were found"), "{out}");
}

/// A bare repository `dir/root.git` whose root is the project `root_git`: tag v1.0 says
/// "v1", main says "v2" (`--add-package` has no way to name a subdirectory).
fn root_git_repo(dir: &Path) -> (String, String) {
    let work = dir.join("rootwork");
    std::fs::create_dir_all(&work).unwrap();
    git(&work, &["init", "-q"]);
    package(&work, "root_git", "v1", None);
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-qm", "v1"]);
    git(&work, &["tag", "v1.0"]);
    let v1 = git(&work, &["rev-parse", "HEAD"]);
    package(&work, "root_git", "v2", None);
    git(&work, &["commit", "-qam", "v2"]);
    git(dir, &["clone", "-q", "--bare", "rootwork", "root.git"]);
    (format!("file://{}", dir.join("root.git").display()), v1)
}

// Checked by hand against dbt-core 1.10.9 on the same layout: the same lines, the same
// packages.yml and package-lock.yml (hash 9124fabb... for `local: ../pkgs/a`, written
// without the unrendered copy, so the next plain `deps` locks again).
#[test]
fn add_package_local_creates_packages_yml_and_installs() {
    let tmp = tempfile::tempdir().unwrap();
    package(&tmp.path().join("pkgs/a"), "pkg_a", "from a", None);
    let root = project(tmp.path(), "", "{{ pkg_a.hello() }}");
    std::fs::remove_file(root.join("packages.yml")).unwrap();
    let out = ok(mfb(
        &root,
        &["deps", "--add-package", "../pkgs/a", "--source", "local"],
        &[],
    ));
    let root = root.canonicalize().unwrap();
    // Progress lines are `HH:MM:SS message`.
    let lines: Vec<&str> = out
        .lines()
        .filter(|l| l.as_bytes().get(2) == Some(&b':'))
        .filter_map(|l| l.split_once(' ').map(|(_, m)| m))
        .collect();
    assert_eq!(
        lines[..5],
        [
            "Created packages.yml".to_owned(),
            format!(
                "Added new package ../pkgs/a@ to {}",
                root.join("packages.yml").display()
            ),
            format!(
                "Updating lock file in file path: {}",
                root.join("package-lock.yml").display()
            ),
            "Installing ../pkgs/a".to_owned(),
            "Installed from <local @ ../pkgs/a>".to_owned(),
        ],
        "{out}"
    );
    assert_eq!(
        std::fs::read_to_string(root.join("packages.yml")).unwrap(),
        "packages:\n  - local: ../pkgs/a\n"
    );
    assert_eq!(
        lock(&root),
        "packages:\n  - local: ../pkgs/a\n    name: pkg_a\nsha1_hash: 9124fabb62b517d185db0ec69dc351d162bf367c\n"
    );
    assert!(
        std::fs::symlink_metadata(root.join("dbt_packages/pkg_a"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(compiled(&root).contains("select 'from a' as v"));
    // A plain `deps` hashes the list with its unrendered copy, as dbt does: it locks again.
    let out = ok(mfb(&root, &["deps"], &[]));
    assert!(out.contains("Updating lock file"), "{out}");
    assert!(
        lock(&root).ends_with("sha1_hash: 86c0fc602330867cb78e030aceca2a0c3e309855\n"),
        "{}",
        lock(&root)
    );
}

// Checked by hand against dbt-core 1.10.9 (with a git URL of the same shape): the duplicate
// line shows the removed entry as a Python dict, the comments go, the new entry is last.
#[test]
fn add_package_git_replaces_the_entry_at_the_end_and_drops_comments() {
    let tmp = tempfile::tempdir().unwrap();
    let (url, v1) = root_git_repo(tmp.path());
    package(&tmp.path().join("other"), "other_pkg", "other", None);
    let root = project(
        tmp.path(),
        &format!(
            "# our packages\npackages:\n  - git: \"{url}\" # pinned later\n    revision: main\n  - local: ../other\n"
        ),
        "{{ root_git.hello() }} {{ other_pkg.hello() }}",
    );
    let added = format!("{url}@v1.0");
    let out = ok(mfb(
        &root,
        &["deps", "--add-package", &added, "--source", "git"],
        &[],
    ));
    assert!(
        out.contains(&format!(
            "Found duplicate package in packages.yml, removing: {{'git': '{url}', 'revision': 'main'}}"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!("Added new package {url}@v1.0 to ")),
        "{out}"
    );
    assert!(
        out.contains(&format!("Installed from revision {v1}")),
        "{out}"
    );
    assert_eq!(
        std::fs::read_to_string(root.join("packages.yml")).unwrap(),
        format!("packages:\n  - local: ../other\n  - git: {url}\n    revision: v1.0\n")
    );
    let locked = lock(&root);
    assert!(
        locked.starts_with(&format!(
            "packages:\n  - local: ../other\n    name: other_pkg\n  - git: {url}\n    name: root_git\n    revision: {v1}\nsha1_hash: "
        )),
        "{locked}"
    );
    assert!(compiled(&root).contains("select 'v1 other' as v"));
}

// Checked by hand against dbt-core 1.10.9 with the same packages.yml (hub served over
// http): the same packages.yml, and the lock hash ce3974d1... after `--add-package`.
#[test]
fn add_package_hub_with_a_range_and_lock_installs_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let url = hub(tmp.path());
    let root = project(
        tmp.path(),
        "packages:\n  - package: fixture/utils\n    version: 0.9.0\n",
        "{{ utils.hello() }}",
    );
    let hub_env = [("MFB_HUB_URL", url.as_str())];
    let out = ok(mfb(
        &root,
        &[
            "deps",
            "--add-package",
            "fixture/utils@>=1.0.0,<2.0.0",
            "--lock",
        ],
        &hub_env,
    ));
    assert!(
        out.contains("Found duplicate package in packages.yml, removing: {'package': 'fixture/utils', 'version': '0.9.0'}"),
        "{out}"
    );
    assert!(
        out.contains("Added new package fixture/utils@>=1.0.0,<2.0.0 to "),
        "{out}"
    );
    assert!(!out.contains("Installing"), "{out}");
    assert_eq!(
        std::fs::read_to_string(root.join("packages.yml")).unwrap(),
        "packages:\n  - package: fixture/utils\n    version:\n      - '>=1.0.0'\n      - <2.0.0\n"
    );
    assert_eq!(
        lock(&root),
        "packages:\n  - name: utils\n    package: fixture/utils\n    version: 1.1.0\nsha1_hash: ce3974d1fa7c0d9174ac131fd6f8c6c2f663be60\n"
    );
    assert!(
        !root.join("dbt_packages").exists(),
        "--lock installs nothing"
    );
    let out = ok(mfb(&root, &["deps"], &hub_env));
    assert!(out.contains("Installed from version 1.1.0"), "{out}");
    assert!(
        lock(&root).ends_with("sha1_hash: 853f16271a3290220cdb77c368aabd460d98776c\n"),
        "the plain deps hash, as dbt writes it"
    );
    assert!(compiled(&root).contains("select 'utils 1.1.0' as v"));
}

#[test]
fn add_package_goes_into_dependencies_yml_when_that_lists_the_packages() {
    let tmp = tempfile::tempdir().unwrap();
    package(&tmp.path().join("pkgs/a"), "pkg_a", "from a", None);
    package(&tmp.path().join("pkgs/b"), "pkg_b", "from b", None);
    let root = project(tmp.path(), "", "{{ pkg_a.hello() }} {{ pkg_b.hello() }}");
    std::fs::remove_file(root.join("packages.yml")).unwrap();
    write(
        &root.join("dependencies.yml"),
        "projects:\n  - name: upstream\npackages:\n  - local: ../pkgs/a\n",
    );
    let out = ok(mfb(
        &root,
        &["deps", "--add-package", "../pkgs/b", "--source", "local"],
        &[],
    ));
    assert!(out.contains("dependencies.yml"), "{out}");
    assert!(!root.join("packages.yml").exists());
    // dbt 1.10 stops on `projects:` here; mfb keeps it (keys sorted, as dbt writes them).
    assert_eq!(
        std::fs::read_to_string(root.join("dependencies.yml")).unwrap(),
        "packages:\n  - local: ../pkgs/a\n  - local: ../pkgs/b\nprojects:\n  - name: upstream\n"
    );
    assert!(compiled(&root).contains("select 'from a from b' as v"));
}

// The messages are dbt-core 1.10.9's (its wording included); dbt exits 2 as well.
#[test]
fn add_package_without_a_version_and_dry_run_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = "packages:\n  - local: ../x\n";
    let root = project(tmp.path(), spec, "x");
    for (args, says) in [
        (
            &["deps", "--add-package", "fixture/utils"][..],
            "error[deps-add-package]: Version is required in --add-package when a package when source is hub",
        ),
        (
            &[
                "deps",
                "--add-package",
                "https://example.com/r.git",
                "--source",
                "git",
            ][..],
            "error[deps-add-package]: Version is required in --add-package when a package when source is git",
        ),
        (
            &["deps", "--add-package", "../pkg@1.0", "--source", "local"][..],
            "error[deps-add-package]: a local package has no version",
        ),
        (&["deps", "--dry-run"][..], "error[deps-dry-run-removed]"),
    ] {
        let o = mfb(&root, args, &[]);
        let t = text(&o);
        assert_eq!(o.status.code(), Some(2), "{t}");
        assert!(t.contains(says), "{t}");
        assert_eq!(
            std::fs::read_to_string(root.join("packages.yml")).unwrap(),
            spec
        );
        assert!(!root.join("package-lock.yml").exists());
    }
}

// dbt-core 1.10.9 stops on a `private:` package with exactly this message (it resolves them
// only inside dbt Cloud). The hash is the one dbt's own hashing gives for this file.
#[test]
fn private_package_is_dbts_error_unless_a_url_template_is_set() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, v1, _) = git_repo(&tmp.path().join("org"));
    let spec = "packages:\n  - private: org/repo\n    provider: github\n    revision: v1.0\n    subdirectory: sub\n";
    let root = project(tmp.path(), spec, "{{ git_pkg.hello() }}");
    let o = mfb(&root, &["deps"], &[]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(
        t.contains("error[deps-private-package]: Cannot resolve private package org/repo because git provider integration is missing. Please use a \"git\" package instead."),
        "{t}"
    );
    assert!(t.contains("MFB_PRIVATE_GIT_URL_GITHUB"), "{t}");
    assert!(!root.join("package-lock.yml").exists());

    // The provider's own variable wins over the generic one.
    let template = format!("file://{}/{{private}}.git", tmp.path().display());
    let env = [
        ("MFB_PRIVATE_GIT_URL_GITHUB", template.as_str()),
        ("MFB_PRIVATE_GIT_URL", "file:///nowhere/{private}.git"),
    ];
    let out = ok(mfb(&root, &["deps"], &env));
    assert!(out.contains("Installing org/repo/sub"), "{out}");
    assert!(
        out.contains(&format!("Installed from revision {v1}")),
        "{out}"
    );
    assert!(out.contains("and subdirectory sub"), "{out}");
    assert_eq!(
        lock(&root),
        format!(
            "packages:\n  - name: git_pkg\n    private: org/repo\n    provider: github\n    revision: {v1}\n    subdirectory: sub\nsha1_hash: 187589f2ec9c7cebaf4b65e51b660142e48b1aa9\n"
        ),
        "the lock names the package, never the URL"
    );
    assert!(compiled(&root).contains("select 'v1' as v"));

    // From the lock, the URL is needed again; without it nothing installed is touched.
    let o = mfb(&root, &["deps"], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("Cannot resolve private package org/repo"));
    assert!(root.join("dbt_packages/git_pkg/dbt_project.yml").is_file());
    let out = ok(mfb(&root, &["deps"], &env));
    assert!(!out.contains("Updating lock file"), "{out}");
}

// Checked by hand against dbt-core 1.10.9 with the same hub documents (served over http):
// the same warning text, on every run; the old name's versions are installed and locked
// (1.0.0, though fixture/utils has newer ones), with the same lock hash.
#[test]
fn a_renamed_hub_package_warns_and_installs_under_the_old_name() {
    let tmp = tempfile::tempdir().unwrap();
    let url = hub(tmp.path());
    let root = project(
        tmp.path(),
        "packages:\n  - package: oldorg/utils\n    version: [\">=1.0.0\"]\n",
        "{{ utils.hello() }}",
    );
    let warning = "warning[deps-package-redirect]: The `oldorg/utils` package is deprecated in favor of `fixture/utils`. Please update your `packages.yml` configuration to use `fixture/utils` instead.";
    let o = mfb(&root, &["deps"], &[("MFB_HUB_URL", &url)]);
    let t = ok(o);
    assert_eq!(t.matches(warning).count(), 1, "{t}");
    assert!(t.contains("Installing oldorg/utils"), "{t}");
    assert!(t.contains("Installed from version 1.0.0"), "{t}");
    assert!(t.contains("Up to date!"), "{t}");
    assert_eq!(
        lock(&root),
        "packages:\n  - name: utils\n    package: oldorg/utils\n    version: 1.0.0\nsha1_hash: 1976a65c5f1de91898e84277a5879610fce42eaf\n"
    );
    assert!(compiled(&root).contains("select 'utils 1.0.0' as v"));
    // Installing from the lock fetches the hub document again, and warns again.
    let t = ok(mfb(&root, &["deps"], &[("MFB_HUB_URL", &url)]));
    assert!(!t.contains("Updating lock file"), "{t}");
    assert_eq!(t.matches(warning).count(), 1, "{t}");
}
