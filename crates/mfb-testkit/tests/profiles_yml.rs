//! The profiles.yml written for a TestDb parses as YAML and names the database.

use mfb_testkit::TestDb;

#[test]
fn profiles_yml_points_at_the_test_database() {
    let db = TestDb::create("profiles");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = db
        .write_profiles_yml(dir.path(), "mfb", "analytics")
        .expect("write profiles.yml");
    assert_eq!(path, dir.path().join("profiles.yml"));

    let text = std::fs::read_to_string(&path).expect("read back");
    let yaml: serde_yaml::Value = serde_yaml::from_str(&text).expect("valid YAML");
    let target = &yaml["mfb"]["outputs"]["test"];
    assert_eq!(yaml["mfb"]["target"].as_str(), Some("test"));
    assert_eq!(target["type"].as_str(), Some("postgres"));
    assert_eq!(target["host"].as_str(), Some(db.host.as_str()));
    assert_eq!(target["port"].as_u64(), Some(u64::from(db.port)));
    assert_eq!(target["user"].as_str(), Some(db.user.as_str()));
    assert_eq!(
        target["password"].as_str(),
        Some(db.password.as_deref().unwrap_or(""))
    );
    assert_eq!(target["dbname"].as_str(), Some(db.dbname.as_str()));
    assert_eq!(target["schema"].as_str(), Some("analytics"));
    assert_eq!(target["threads"].as_u64(), Some(4));
}
