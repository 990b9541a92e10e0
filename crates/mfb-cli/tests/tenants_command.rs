//! `mfb tenants` against a real PostgreSQL: list, provision (dry run, run, second run
//! with nothing to do), grafana files, and a located error for a bad tenants.yml.

use std::path::Path;
use std::process::Command;

use mfb_testkit::{TestDb, unique_name};

fn mfb(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mfb"));
    cmd.args(args)
        .arg("--project-dir")
        .arg(dir)
        .arg("--profiles-dir")
        .arg(dir);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run mfb");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!text.contains("panicked"), "{text}");
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn provision_list_and_grafana() {
    let db = TestDb::create("mfb_tenants_cmd");
    // Roles are cluster-wide: a unique prefix, dropped at the end.
    let p = unique_name("tn");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("dbt_project.yml"), "name: tn\nprofile: tn\n").unwrap();
    db.write_profiles_yml(d, "tn", "analytics").unwrap();
    std::fs::write(
        d.join("tenants.yml"),
        format!(
            "admin_roles: [{p}_admin]\ntenants:\n  - id: 1\n    name: Colorado\n    roles:\n      - name: {p}_co\n        password_env: TN_CO_PASSWORD\n  - id: 2\n    roles: [{p}_nc]\n"
        ),
    )
    .unwrap();
    let env = [("TN_CO_PASSWORD", "s3cret")];

    let (code, text) = mfb(d, &["tenants", "list"], &env);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("2 tenants, 2 tenant roles, 1 admin role"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "tenant 1 (Colorado)\n  {p}_co  password from $TN_CO_PASSWORD"
        )),
        "{text}"
    );

    let (code, text) = mfb(d, &["tenants", "provision", "--dry-run"], &env);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains(&format!("create role \"{p}_co\" login password '***';")),
        "{text}"
    );
    assert!(!text.contains("s3cret"), "{text}");
    assert!(
        text.contains(&format!("$MFB_{}_NC_PASSWORD is not set", p.to_uppercase())),
        "{text}"
    );
    let exists = db.query_text(&format!(
        "select count(*)::text from pg_roles where rolname like '{p}%'"
    ));
    assert_eq!(
        exists[0][0].as_deref(),
        Some("0"),
        "--dry-run changed nothing"
    );

    let (code, text) = mfb(d, &["tenants", "provision"], &env);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("Provisioned"), "{text}");

    let (code, text) = mfb(d, &["tenants", "provision", "--dry-run"], &env);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("Nothing to do"), "{text}");
    assert!(!text.contains("create role"), "{text}");

    let (code, text) = mfb(
        d,
        &[
            "tenants",
            "grafana",
            "--out",
            d.join("grafana").to_str().unwrap(),
        ],
        &env,
    );
    assert_eq!(code, 0, "{text}");
    let co = std::fs::read_to_string(d.join("grafana/mfb-tenant-1.yaml")).unwrap();
    let doc: serde_json::Value = serde_yaml::from_str(&co).unwrap();
    let ds = &doc["datasources"][0];
    assert_eq!(ds["user"], format!("{p}_co").as_str());
    assert_eq!(ds["url"], format!("{}:{}", db.host, db.port).as_str());
    assert_eq!(ds["jsonData"]["database"], db.dbname.as_str());
    assert_eq!(ds["secureJsonData"]["password"], "$TN_CO_PASSWORD");
    assert!(d.join("grafana/mfb-tenant-2.yaml").is_file());

    std::fs::write(
        d.join("tenants.yml"),
        "tenants:\n  - id: 1\n    rols: [x]\n",
    )
    .unwrap();
    let (code, text) = mfb(d, &["tenants", "list"], &env);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("tenants.yml:3"), "{text}");
    assert!(text.contains("unknown field `rols`"), "{text}");

    drop(db);
    let cleanup = TestDb::create("mfb_tenants_cleanup");
    for role in ["co", "nc", "admin"] {
        cleanup.batch_execute(&format!("drop role if exists \"{p}_{role}\""));
    }
}
