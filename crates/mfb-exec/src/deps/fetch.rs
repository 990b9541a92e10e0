//! Getting bytes and trees from elsewhere: `file://` URLs are read directly, `http(s)`
//! through the system `curl` (short timeouts), git repositories through the system `git`,
//! tarballs unpacked with the system `tar`. mfb ships no HTTP or git client of its own, as
//! dbt relies on the system `git`. What to fetch is decided in `resolve.rs`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Why something could not be fetched (shown after the package's name).
#[derive(Debug, Clone)]
pub struct FetchError(pub String);

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The local path of a `file://` URL.
fn file_url_path(url: &str) -> Option<PathBuf> {
    url.strip_prefix("file://").map(PathBuf::from)
}

/// Reads a URL into memory.
pub fn get(url: &str) -> Result<Vec<u8>, FetchError> {
    if let Some(path) = file_url_path(url) {
        return std::fs::read(&path).map_err(|e| FetchError(format!("cannot read {url}: {e}")));
    }
    let output = Command::new("curl")
        .args(["--silent", "--show-error", "--fail", "--location"])
        .args(["--connect-timeout", "10", "--max-time", "60"])
        .arg(url)
        .output()
        .map_err(|e| FetchError(format!("cannot run curl to fetch {url}: {e}")))?;
    if output.status.success() {
        Ok(output.stdout)
    } else {
        Err(FetchError(format!(
            "cannot fetch {url}: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )))
    }
}

/// Downloads a URL to `dest`.
pub fn download(url: &str, dest: &Path) -> Result<(), FetchError> {
    let bytes = get(url)?;
    std::fs::write(dest, bytes)
        .map_err(|e| FetchError(format!("cannot write {}: {e}", dest.display())))
}

/// Unpacks a `.tar.gz` into `dir` and returns the package root: the single top-level
/// directory of the archive (GitHub's `repo-1.2.3/`), or `dir` itself.
pub fn unpack_tarball(archive: &Path, dir: &Path) -> Result<PathBuf, FetchError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| FetchError(format!("cannot create {}: {e}", dir.display())))?;
    let output = Command::new("tar")
        .arg("-xzf")
        .arg(archive)
        .arg("-C")
        .arg(dir)
        .output()
        .map_err(|e| FetchError(format!("cannot run tar: {e}")))?;
    if !output.status.success() {
        return Err(FetchError(format!(
            "cannot unpack the tarball: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| FetchError(format!("cannot read {}: {e}", dir.display())))?
        .flatten()
        .map(|e| e.path())
        .collect();
    match entries.as_slice() {
        [only] if only.is_dir() => Ok(only.clone()),
        _ => Ok(dir.to_path_buf()),
    }
}

fn git(args: &[&str], dir: Option<&Path>) -> Result<String, FetchError> {
    let mut cmd = Command::new("git");
    if let Some(d) = dir {
        cmd.arg("-C").arg(d);
    }
    // Never wait for a password prompt: deps runs in CI too.
    cmd.env("GIT_TERMINAL_PROMPT", "0").args(args);
    let output = cmd
        .output()
        .map_err(|e| FetchError(format!("cannot run git (is it installed?): {e}")))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    } else {
        Err(FetchError(format!(
            "git {} failed: {}",
            args.first().copied().unwrap_or(""),
            String::from_utf8_lossy(&output.stderr).trim()
        )))
    }
}

/// Clones `url` into `dest`, checks out `revision` (a tag, branch or commit; the default
/// branch when `None`) and returns the commit checked out.
pub fn git_checkout(url: &str, revision: Option<&str>, dest: &Path) -> Result<String, FetchError> {
    let dest_s = dest.to_string_lossy();
    git(&["clone", "--quiet", url, &dest_s], None)?;
    if let Some(rev) = revision {
        git(&["checkout", "--quiet", rev], Some(dest)).map_err(|_| {
            FetchError(format!(
                "revision `{rev}` is not a tag, branch or commit of {url}"
            ))
        })?;
    }
    git(&["rev-parse", "HEAD"], Some(dest))
}
