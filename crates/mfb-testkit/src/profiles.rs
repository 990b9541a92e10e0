//! Writing a dbt `profiles.yml` that points a project at a [`TestDb`].

use std::io;
use std::path::{Path, PathBuf};

use crate::database::TestDb;

impl TestDb {
    /// Writes `<dir>/profiles.yml` with profile `profile`, target `test`, pointing at this
    /// database with schema `schema` and 4 threads. Returns the file's path.
    pub fn write_profiles_yml(
        &self,
        dir: &Path,
        profile: &str,
        schema: &str,
    ) -> io::Result<PathBuf> {
        let path = dir.join("profiles.yml");
        std::fs::write(&path, self.profiles_yml(profile, schema))?;
        Ok(path)
    }

    /// The text [`TestDb::write_profiles_yml`] writes.
    pub fn profiles_yml(&self, profile: &str, schema: &str) -> String {
        let password = self.password.as_deref().unwrap_or("");
        format!(
            "# written by mfb-testkit for a throwaway test database\n\
             {profile}:\n  \
               target: test\n  \
               outputs:\n    \
                 test:\n      \
                   type: postgres\n      \
                   host: {host}\n      \
                   port: {port}\n      \
                   user: {user}\n      \
                   password: {password}\n      \
                   dbname: {dbname}\n      \
                   schema: {schema}\n      \
                   threads: 4\n",
            profile = yaml_string(profile),
            host = yaml_string(&self.host),
            port = self.port,
            user = yaml_string(&self.user),
            password = yaml_string(password),
            dbname = yaml_string(&self.dbname),
            schema = yaml_string(schema),
        )
    }
}

/// A YAML double-quoted scalar: safe for any text, including `:`, `#` and quotes.
fn yaml_string(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len() + 2);
    out.push('"');
    for c in raw.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::yaml_string;

    #[test]
    fn yaml_strings_escape_quotes_and_backslashes() {
        assert_eq!(yaml_string(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(yaml_string("x: #y"), "\"x: #y\"");
        assert_eq!(yaml_string("tab\there"), "\"tab\\u0009here\"");
    }
}
