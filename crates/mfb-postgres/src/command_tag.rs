//! Statement splitting and command tags (`SELECT 5`, `CREATE VIEW`, `INSERT 0 3`).
//!
//! tokio-postgres reports only the row count of each completed command, not the tag the
//! server sent, so the tag is rebuilt here from the statement's leading keywords and that
//! count, the way PostgreSQL forms it. The splitter understands quotes, dollar quotes and
//! comments, so semicolons inside them do not split.

/// Splits SQL text into statements (without the `;`), dropping empty ones.
pub fn split_statements(sql: &str) -> Vec<&str> {
    let bytes = sql.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' => i = skip_quoted(bytes, i, b'\'', is_escape_string(bytes, i)),
            b'"' => i = skip_quoted(bytes, i, b'"', false),
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                i = bytes[i..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(bytes.len(), |p| i + p + 1);
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => i = skip_block_comment(bytes, i),
            b'$' => i = skip_dollar_quote(sql, i),
            b';' => {
                push_statement(&mut out, &sql[start..i]);
                i += 1;
                start = i;
            }
            _ => i += 1,
        }
    }
    push_statement(&mut out, &sql[start..]);
    out
}

fn push_statement<'a>(out: &mut Vec<&'a str>, stmt: &'a str) {
    if !words(stmt, 1).is_empty() {
        out.push(stmt.trim());
    }
}

fn is_escape_string(bytes: &[u8], quote: usize) -> bool {
    quote > 0
        && matches!(bytes[quote - 1], b'e' | b'E')
        && (quote < 2 || !(bytes[quote - 2].is_ascii_alphanumeric() || bytes[quote - 2] == b'_'))
}

/// Index just past the closing quote (doubled quotes stay inside).
fn skip_quoted(bytes: &[u8], open: usize, quote: u8, backslash_escapes: bool) -> usize {
    let mut i = open + 1;
    while i < bytes.len() {
        if backslash_escapes && bytes[i] == b'\\' {
            i += 2;
            continue;
        }
        if bytes[i] == quote {
            if bytes.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    bytes.len()
}

fn skip_block_comment(bytes: &[u8], open: usize) -> usize {
    let mut depth = 0;
    let mut i = open;
    while i + 1 < bytes.len() {
        if bytes[i] == b'/' && bytes[i + 1] == b'*' {
            depth += 1;
            i += 2;
        } else if bytes[i] == b'*' && bytes[i + 1] == b'/' {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    bytes.len()
}

/// `$tag$ ... $tag$`; a `$` that does not open a dollar quote (`$1`) is skipped alone.
fn skip_dollar_quote(sql: &str, open: usize) -> usize {
    let rest = &sql[open + 1..];
    let tag_len = rest
        .char_indices()
        .find(|&(_, c)| !(c.is_alphanumeric() || c == '_'))
        .map_or(rest.len(), |(i, _)| i);
    let is_open = rest[tag_len..].starts_with('$')
        && !rest[..tag_len].starts_with(|c: char| c.is_ascii_digit());
    if !is_open {
        return open + 1;
    }
    let delim = &sql[open..open + tag_len + 2];
    let body_start = open + tag_len + 2;
    sql[body_start..]
        .find(delim)
        .map_or(sql.len(), |p| body_start + p + delim.len())
}

/// The first `n` keywords of a statement, upper-cased, skipping comments; stops at the
/// first token that is not a bare word.
fn words(stmt: &str, n: usize) -> Vec<String> {
    let bytes = stmt.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() && out.len() < n {
        let b = bytes[i];
        if b.is_ascii_whitespace() {
            i += 1;
        } else if b == b'-' && bytes.get(i + 1) == Some(&b'-') {
            i = bytes[i..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(bytes.len(), |p| i + p + 1);
        } else if b == b'/' && bytes.get(i + 1) == Some(&b'*') {
            i = skip_block_comment(bytes, i);
        } else if b.is_ascii_alphabetic() || b == b'_' {
            let end = bytes[i..]
                .iter()
                .position(|c| !(c.is_ascii_alphanumeric() || *c == b'_'))
                .map_or(bytes.len(), |p| i + p);
            out.push(stmt[i..end].to_ascii_uppercase());
            i = end;
        } else {
            // A non-word token (e.g. `(`): it still counts as "something is there".
            if out.is_empty() && n == 1 {
                out.push(String::new());
            }
            break;
        }
    }
    out
}

/// True when `keyword` appears outside parentheses, quotes and comments.
fn has_top_level_keyword(stmt: &str, keyword: &str) -> bool {
    let bytes = stmt.as_bytes();
    let mut depth = 0i32;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' => i = skip_quoted(bytes, i, b'\'', is_escape_string(bytes, i)),
            b'"' => i = skip_quoted(bytes, i, b'"', false),
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                i = bytes[i..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(bytes.len(), |p| i + p + 1)
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => i = skip_block_comment(bytes, i),
            b'$' => i = skip_dollar_quote(stmt, i),
            b'(' => {
                depth += 1;
                i += 1;
            }
            b')' => {
                depth -= 1;
                i += 1;
            }
            b if b.is_ascii_alphabetic() || b == b'_' => {
                let end = bytes[i..]
                    .iter()
                    .position(|c| !(c.is_ascii_alphanumeric() || *c == b'_'))
                    .map_or(bytes.len(), |p| i + p);
                if depth == 0 && stmt[i..end].eq_ignore_ascii_case(keyword) {
                    return true;
                }
                i = end;
            }
            _ => i += 1,
        }
    }
    false
}

/// Words that may sit between `CREATE` and the object type without being part of the tag.
const CREATE_MODIFIERS: &[&str] = &[
    "OR",
    "REPLACE",
    "TEMP",
    "TEMPORARY",
    "UNLOGGED",
    "GLOBAL",
    "LOCAL",
    "UNIQUE",
    "RECURSIVE",
    "TRUSTED",
    "PROCEDURAL",
    "DEFAULT",
    "CONSTRAINT",
];

/// Object types spelled with two words.
const TWO_WORD_OBJECTS: &[(&str, &str)] = &[
    ("MATERIALIZED", "VIEW"),
    ("FOREIGN", "TABLE"),
    ("EVENT", "TRIGGER"),
    ("ACCESS", "METHOD"),
    ("USER", "MAPPING"),
    ("DEFAULT", "PRIVILEGES"),
    ("TEXT", "SEARCH"),
];

fn object_words(rest: &[String]) -> String {
    match rest {
        [a, b, ..] if TWO_WORD_OBJECTS.iter().any(|(x, y)| x == a && y == b) => {
            format!("{a} {b}")
        }
        [a, ..] => a.clone(),
        [] => String::new(),
    }
}

/// The tag PostgreSQL sends for `stmt` when it affected or returned `rows` rows.
pub fn command_tag(stmt: &str, rows: u64) -> String {
    let w = words(stmt, 8);
    let Some(first) = w.first() else {
        return String::new();
    };
    match first.as_str() {
        "SELECT" | "VALUES" | "TABLE" => format!("SELECT {rows}"),
        "WITH" => {
            for verb in ["INSERT", "UPDATE", "DELETE", "MERGE"] {
                if has_top_level_keyword(stmt, verb) {
                    return row_tag(verb, rows);
                }
            }
            format!("SELECT {rows}")
        }
        "INSERT" | "UPDATE" | "DELETE" | "MERGE" | "COPY" | "FETCH" | "MOVE" => {
            row_tag(first, rows)
        }
        "CREATE" => {
            let rest: Vec<String> = w[1..]
                .iter()
                .skip_while(|x| CREATE_MODIFIERS.contains(&x.as_str()))
                .cloned()
                .collect();
            let object = object_words(&rest);
            let as_query = matches!(object.as_str(), "TABLE" | "MATERIALIZED VIEW")
                && has_top_level_keyword(stmt, "AS");
            if as_query {
                format!("SELECT {rows}")
            } else {
                format!("CREATE {object}")
            }
        }
        "ALTER" | "DROP" => format!("{first} {}", object_words(&w[1..])),
        "BEGIN" => "BEGIN".into(),
        "START" => "START TRANSACTION".into(),
        "COMMIT" | "END" => "COMMIT".into(),
        "ROLLBACK" | "ABORT" => "ROLLBACK".into(),
        "TRUNCATE" => "TRUNCATE TABLE".into(),
        "REFRESH" => "REFRESH MATERIALIZED VIEW".into(),
        "LOCK" => "LOCK TABLE".into(),
        "DISCARD" => format!("DISCARD {}", w.get(1).map_or("ALL", String::as_str)),
        other => other.to_owned(),
    }
}

fn row_tag(verb: &str, rows: u64) -> String {
    if verb == "INSERT" {
        format!("INSERT 0 {rows}")
    } else {
        format!("{verb} {rows}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_respects_quotes_comments_and_dollar_quotes() {
        let sql = "select 'a;b', \"c;d\" -- x;y\n; /* ; /* ; */ */ create function f() returns int as $f$ select 1; $f$ language sql;\n -- only a comment;\n";
        let stmts = split_statements(sql);
        assert_eq!(stmts.len(), 2, "{stmts:?}");
        assert!(stmts[1].ends_with("language sql"));
        assert_eq!(
            split_statements("select $1; select E'\\';'"),
            vec!["select $1", "select E'\\';'"]
        );
    }

    #[test]
    fn tags_match_postgres() {
        assert_eq!(command_tag("select 1 from t", 5), "SELECT 5");
        assert_eq!(
            command_tag("/* c */ create or replace view v as select 1", 0),
            "CREATE VIEW"
        );
        assert_eq!(
            command_tag("create temporary table t as (select 1)", 1),
            "SELECT 1"
        );
        assert_eq!(command_tag("create table t (a int)", 0), "CREATE TABLE");
        assert_eq!(
            command_tag("create materialized view m as select 1", 1),
            "SELECT 1"
        );
        assert_eq!(
            command_tag("create unique index i on t (a)", 0),
            "CREATE INDEX"
        );
        assert_eq!(command_tag("insert into t values (1),(2)", 2), "INSERT 0 2");
        assert_eq!(
            command_tag("with x as (select 1) delete from t", 3),
            "DELETE 3"
        );
        assert_eq!(
            command_tag("drop materialized view if exists m", 0),
            "DROP MATERIALIZED VIEW"
        );
        assert_eq!(command_tag("alter table t rename to u", 0), "ALTER TABLE");
        assert_eq!(command_tag("truncate t", 0), "TRUNCATE TABLE");
        assert_eq!(command_tag("grant select on t to r", 0), "GRANT");
    }
}
