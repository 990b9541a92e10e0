//! dbt's package versions and version ranges: `"1.1.0"` pins one version, a list such as
//! `[">=1.0.0", "<2.0.0"]` is the intersection of its bounds. Leaves fetching the versions
//! a package has to `hub.rs` and picking among them across the tree to `resolve.rs`.

use std::cmp::Ordering;
use std::fmt;

/// A version: `major.minor.patch` with an optional pre-release (`1.0.0-b1`); build
/// metadata is kept for display only. `1.0` reads as `1.0.0` and a leading `v` is ignored,
/// as on the hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    /// Dot-separated pre-release identifiers (`b1`, `rc.2`); empty for a release.
    pub prerelease: Vec<String>,
    text: String,
}

impl Version {
    /// Parses `1.2.3`, `1.2`, `v1.2.3`, `1.2.3-rc1`, `1.2.3+build`.
    pub fn parse(text: &str) -> Option<Version> {
        let t = text.trim();
        let t = t.strip_prefix('v').unwrap_or(t);
        let core_end = t.find(['-', '+']).unwrap_or(t.len());
        let (core, rest) = t.split_at(core_end);
        let mut parts = core.split('.');
        let num = |s: Option<&str>| -> Option<u64> {
            let s = s?;
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            s.parse().ok()
        };
        let major = num(parts.next())?;
        let minor = num(parts.next())?;
        let patch = match parts.next() {
            Some(p) => num(Some(p))?,
            None => 0,
        };
        if parts.next().is_some() {
            return None;
        }
        let pre = rest
            .strip_prefix('-')
            .map(|r| r.split('+').next().unwrap_or(""))
            .unwrap_or("");
        let prerelease = if pre.is_empty() {
            Vec::new()
        } else {
            pre.split('.').map(str::to_owned).collect()
        };
        Some(Version {
            major,
            minor,
            patch,
            prerelease,
            text: text.trim().to_owned(),
        })
    }

    /// True for `1.0.0-b1` and the like.
    pub fn is_prerelease(&self) -> bool {
        !self.prerelease.is_empty()
    }

    /// The version as the hub spells it.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            .then_with(|| match (self.is_prerelease(), other.is_prerelease()) {
                (false, false) => Ordering::Equal,
                // A release sorts after its pre-releases.
                (false, true) => Ordering::Greater,
                (true, false) => Ordering::Less,
                (true, true) => compare_prerelease(&self.prerelease, &other.prerelease),
            })
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

fn compare_prerelease(a: &[String], b: &[String]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let o = match (x.parse::<u64>(), y.parse::<u64>()) {
            (Ok(m), Ok(n)) => m.cmp(&n),
            (Ok(_), Err(_)) => Ordering::Less,
            (Err(_), Ok(_)) => Ordering::Greater,
            (Err(_), Err(_)) => x.cmp(y),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    a.len().cmp(&b.len())
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A comparison operator of a version requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Gt,
    Ge,
    Lt,
    Le,
}

/// One bound: `>=1.0.0`, `<2.0.0`, `1.1.0` (same as `=1.1.0`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    op: Op,
    version: Version,
}

impl Requirement {
    /// Parses one requirement string; `None` if it is not one.
    pub fn parse(text: &str) -> Option<Requirement> {
        let t = text.trim();
        let (op, rest) = if let Some(r) = t.strip_prefix(">=") {
            (Op::Ge, r)
        } else if let Some(r) = t.strip_prefix("<=") {
            (Op::Le, r)
        } else if let Some(r) = t.strip_prefix('>') {
            (Op::Gt, r)
        } else if let Some(r) = t.strip_prefix('<') {
            (Op::Lt, r)
        } else if let Some(r) = t.strip_prefix("==") {
            (Op::Eq, r)
        } else if let Some(r) = t.strip_prefix('=') {
            (Op::Eq, r)
        } else {
            (Op::Eq, t)
        };
        Some(Requirement {
            op,
            version: Version::parse(rest)?,
        })
    }

    /// Whether `v` meets this bound.
    pub fn matches(&self, v: &Version) -> bool {
        let o = v.cmp(&self.version);
        match self.op {
            Op::Eq => o == Ordering::Equal,
            Op::Gt => o == Ordering::Greater,
            Op::Ge => o != Ordering::Less,
            Op::Lt => o == Ordering::Less,
            Op::Le => o != Ordering::Greater,
        }
    }

    /// An exact pin (`1.1.0`, `=1.1.0`) names a pre-release on purpose.
    fn pins(&self, v: &Version) -> bool {
        self.op == Op::Eq && self.version == *v
    }
}

/// Whether `v` meets every requirement. Pre-releases count only when `prerelease` is set
/// or a requirement pins that exact version, as dbt does.
pub fn satisfies_all(v: &Version, reqs: &[Requirement], prerelease: bool) -> bool {
    if v.is_prerelease() && !prerelease && !reqs.iter().any(|r| r.pins(v)) {
        return false;
    }
    reqs.iter().all(|r| r.matches(v))
}

/// The highest of `available` meeting every requirement.
pub fn highest_satisfying<'a>(
    available: &'a [Version],
    reqs: &[Requirement],
    prerelease: bool,
) -> Option<&'a Version> {
    available
        .iter()
        .filter(|v| satisfies_all(v, reqs, prerelease))
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }
    fn reqs(list: &[&str]) -> Vec<Requirement> {
        list.iter()
            .map(|s| Requirement::parse(s).unwrap())
            .collect()
    }

    #[test]
    fn parses_and_orders_versions() {
        assert!(v("1.2.3") < v("1.10.0"));
        assert!(v("1.0.0-b1") < v("1.0.0"));
        assert!(v("1.0.0-b1") < v("1.0.0-b2"));
        assert!(v("1.0.0-rc.2") < v("1.0.0-rc.10"));
        assert_eq!(v("1.0"), v("1.0"));
        assert_eq!(v("v0.1.0").minor, 1);
        assert!(Version::parse("one").is_none());
        assert!(Version::parse("1.2.3.4").is_none());
    }

    #[test]
    fn ranges_pick_the_highest_matching_release() {
        let available: Vec<Version> = ["0.9.0", "1.0.0", "1.1.1", "1.2.0-b1", "2.0.0"]
            .iter()
            .map(|s| v(s))
            .collect();
        let pick =
            |r: &[&str]| highest_satisfying(&available, &reqs(r), false).map(|v| v.to_string());
        assert_eq!(pick(&[">=1.0.0", "<2.0.0"]).as_deref(), Some("1.1.1"));
        assert_eq!(pick(&["1.0.0"]).as_deref(), Some("1.0.0"));
        assert_eq!(pick(&["=0.9.0"]).as_deref(), Some("0.9.0"));
        assert_eq!(pick(&["1.2.0-b1"]).as_deref(), Some("1.2.0-b1"));
        assert_eq!(pick(&[">1.1.1", "<=2.0.0"]).as_deref(), Some("2.0.0"));
        assert_eq!(pick(&[">=1.0.0", "<2.0.0", "0.9.0"]), None);
        assert_eq!(
            highest_satisfying(&available, &reqs(&[">=1.0.0", "<2.0.0"]), true)
                .map(|v| v.to_string())
                .as_deref(),
            Some("1.2.0-b1")
        );
    }
}
