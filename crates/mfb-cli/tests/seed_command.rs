//! `mfb seed` against a real throwaway PostgreSQL: types inferred like dbt's, a rerun
//! replaces the rows, a failed load keeps the previous table, run_results.json is written.

use std::process::Command;

use mfb_testkit::TestDb;

fn mfb(dir: &std::path::Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mfb"))
        .args(args)
        .arg("--project-dir")
        .arg(dir)
        .arg("--profiles-dir")
        .arg(dir)
        .output()
        .expect("run mfb");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn seeds_load_reload_and_fail_safely() {
    let db = TestDb::create("mfb_seed_cmd");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::write(p.join("dbt_project.yml"), "name: sd\nprofile: sd\nseeds:\n  sd:\n    +schema: raw\n    typed:\n      +column_types: {code: text}\n").unwrap();
    std::fs::create_dir_all(p.join("seeds")).unwrap();
    std::fs::write(
        p.join("seeds/people.csv"),
        "id,name,score,active,born\n1,ann,1.5,true,2020-01-02\n2,bob,2.25,false,2021-03-04\n",
    )
    .unwrap();
    std::fs::write(p.join("seeds/typed.csv"), "code,n\n007,1\n008,2\n").unwrap();
    db.write_profiles_yml(p, "sd", "analytics").unwrap();

    let (code, text) = mfb(p, &["seed"]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("Done. PASS=2 WARN=0 ERROR=0 SKIP=0 NO-OP=0 TOTAL=2"),
        "{text}"
    );
    let types = db.query_text(
        "select table_name || '.' || column_name || ':' || data_type from information_schema.columns \
         where table_schema = 'analytics_raw' order by table_name, ordinal_position",
    );
    let types: Vec<String> = types.into_iter().map(|r| r[0].clone().unwrap()).collect();
    assert_eq!(
        types,
        [
            "people.id:integer",
            "people.name:text",
            "people.score:double precision",
            "people.active:boolean",
            "people.born:date",
            "typed.code:text",
            "typed.n:integer"
        ]
    );
    assert_eq!(
        db.query_text("select code from analytics_raw.typed order by 1"),
        [[Some("007".to_owned())], [Some("008".to_owned())]]
    );
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p.join("target/run_results.json")).unwrap())
            .unwrap();
    assert_eq!(results["results"].as_array().unwrap().len(), 2);
    assert_eq!(results["results"][0]["status"], "success");

    // A rerun replaces the rows instead of appending them.
    std::fs::write(
        p.join("seeds/people.csv"),
        "id,name,score,active,born\n3,cy,3.5,true,2022-05-06\n",
    )
    .unwrap();
    let (code, text) = mfb(p, &["seed", "--select", "people"]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(
        db.query_text("select count(*)::text from analytics_raw.people"),
        [[Some("1".to_owned())]]
    );

    // A load that fails leaves the previous table and rows as they were; exit 1.
    std::fs::write(
        p.join("seeds/people.csv"),
        "id,name,score,active,born\nnot-a-number\n4,dee,1,true,2022-05-06,extra\n",
    )
    .unwrap();
    let (code, text) = mfb(p, &["seed", "--select", "people"]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("ERROR=1"), "{text}");
    assert!(!text.contains("panicked"), "{text}");
    assert_eq!(
        db.query_text("select name from analytics_raw.people"),
        [[Some("cy".to_owned())]]
    );
}
