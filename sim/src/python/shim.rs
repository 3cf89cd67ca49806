//! The shipped `mpi4py` package and the boot script, embedded in the binary and written
//! to a cache directory at run time, so that an installed `mpisim` needs no repository.
//!
//! The directory's name carries a hash of the files' contents: a new mpisim never runs an
//! old shim, and concurrent runs share one directory (each writes its own copy and moves
//! it into place; the first to get there wins).

use std::fmt;
use std::path::{Path, PathBuf};

/// The files, relative to the shim directory.
const FILES: [(&str, &str); 4] = [
    ("mpisim_boot.py", include_str!("../../../python/mpisim_boot.py")),
    ("mpi4py/__init__.py", include_str!("../../../python/mpi4py/__init__.py")),
    ("mpi4py/MPI.py", include_str!("../../../python/mpi4py/MPI.py")),
    ("mpi4py/_mpisim.py", include_str!("../../../python/mpi4py/_mpisim.py")),
];

/// The boot script's name in the shim directory.
pub(crate) const BOOT: &str = "mpisim_boot.py";

/// FNV-1a over the files: a stable name for this version of the shim.
fn fingerprint() -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (name, text) in FILES {
        for b in name.bytes().chain([0]).chain(text.bytes()).chain([0]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// Where shims are kept: the user's cache directory, else the temporary directory.
fn cache_root() -> PathBuf {
    dirs::cache_dir().unwrap_or_else(std::env::temp_dir).join("mpisim")
}

/// The shim directory, written if it is not there yet.
pub(crate) fn install() -> Result<PathBuf, ShimError> {
    install_in(&cache_root())
}

fn install_in(root: &Path) -> Result<PathBuf, ShimError> {
    let dir = root.join(format!("python-{:016x}", fingerprint()));
    let intact =
        |dir: &Path| FILES.iter().all(|(name, text)| std::fs::read_to_string(dir.join(name)).is_ok_and(|t| t == *text));
    if intact(&dir) {
        return Ok(dir);
    }
    let fail = |action: &'static str, path: &Path, source: std::io::Error| ShimError {
        action,
        path: path.to_path_buf(),
        source,
    };
    let staging = root.join(format!(".python-{:016x}.{}", fingerprint(), std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    for (name, text) in FILES {
        let path = staging.join(name);
        let parent = path.parent().expect("files are in the staging directory");
        std::fs::create_dir_all(parent).map_err(|e| fail("create", parent, e))?;
        std::fs::write(&path, text).map_err(|e| fail("write", &path, e))?;
    }
    if dir.exists() {
        // A damaged copy (its files were edited or cut short): replaced whole.
        let _ = std::fs::remove_dir_all(&dir);
    }
    if let Err(e) = std::fs::rename(&staging, &dir) {
        let _ = std::fs::remove_dir_all(&staging);
        // Another run moved the same files into place first.
        if !intact(&dir) {
            return Err(fail("create", &dir, e));
        }
    }
    Ok(dir)
}

/// Why the shim could not be written to the cache directory.
#[derive(Debug)]
#[non_exhaustive]
pub struct ShimError {
    /// What failed: `create` (a directory) or `write` (a file).
    pub action: &'static str,
    /// The directory or file.
    pub path: PathBuf,
    /// Why.
    pub source: std::io::Error,
}

impl fmt::Display for ShimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot {} {}: {}; mpisim keeps its mpi4py module there (set XDG_CACHE_HOME to a writable directory)",
            self.action,
            self.path.display(),
            self.source
        )
    }
}

impl std::error::Error for ShimError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installs_once_and_repairs_a_damaged_copy() {
        let root = std::env::temp_dir().join(format!("mpisim-shim-test-{}", std::process::id()));
        let dir = install_in(&root).unwrap();
        assert!(dir.join("mpi4py/MPI.py").is_file() && dir.join(BOOT).is_file());
        assert_eq!(install_in(&root).unwrap(), dir, "the same version, the same directory");
        std::fs::write(dir.join("mpi4py/MPI.py"), "broken").unwrap();
        install_in(&root).unwrap();
        assert_eq!(std::fs::read_to_string(dir.join("mpi4py/MPI.py")).unwrap(), FILES[2].1);
        std::fs::remove_dir_all(&root).unwrap();
    }
}
