//! The files a run writes (`--trace`, `--dot`), opened before the run starts: a path
//! that cannot be written is a usage error in a moment, not a message after a long run
//! whose result is then lost.

use super::flags::UsageError;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{Seek, Write};
use std::path::{Path, PathBuf};

/// Why an output file cannot be opened or written.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct OutputError {
    /// The flag that names it (`--trace`).
    pub flag: String,
    /// The file.
    pub path: PathBuf,
    /// The operating system's reason.
    pub reason: String,
}

impl fmt::Display for OutputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: cannot write {}: {}", self.flag, self.path.display(), self.reason)
    }
}

impl std::error::Error for OutputError {}

/// An output file, open for writing.
#[derive(Debug)]
pub struct Output {
    flag: &'static str,
    path: PathBuf,
    file: File,
    /// Whether opening it made it, so that it is removed again if nothing is written.
    created: bool,
    written: bool,
}

impl Output {
    /// Opens `path` for writing without truncating it (an existing file keeps its content
    /// until the run writes it); `flag` names it in errors.
    pub fn open(flag: &'static str, path: &Path) -> Result<Output, UsageError> {
        let created = std::fs::symlink_metadata(path).is_err();
        let fail = |reason: String| {
            UsageError::Output(OutputError { flag: flag.to_string(), path: path.to_path_buf(), reason })
        };
        if path.is_dir() {
            return Err(fail("it is a directory".into()));
        }
        let file =
            OpenOptions::new().write(true).create(true).truncate(false).open(path).map_err(|e| fail(e.to_string()))?;
        Ok(Output { flag, path: path.to_path_buf(), file, created, written: false })
    }

    /// Replaces the file's content with `text`.
    pub fn write(&mut self, text: &str) -> Result<(), OutputError> {
        self.written = true;
        let file = &mut self.file;
        let regular = file.metadata().is_ok_and(|m| m.is_file());
        let result = (|| {
            if regular {
                file.set_len(0)?;
                file.rewind()?;
            }
            file.write_all(text.as_bytes())?;
            file.flush()
        })();
        result.map_err(|e| OutputError { flag: self.flag.to_string(), path: self.path.clone(), reason: e.to_string() })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        // A file this run made and never filled would be an empty file nobody asked for.
        if self.created && !self.written {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The outputs of one run.
#[derive(Debug, Default)]
pub struct Outputs {
    /// `--trace FILE`.
    pub trace: Option<Output>,
    /// `--dot FILE`.
    pub dot: Option<Output>,
}

impl Outputs {
    /// Opens the files `trace` and `dot` name.
    pub fn open(trace: Option<&Path>, dot: Option<&Path>) -> Result<Outputs, UsageError> {
        Ok(Outputs {
            trace: trace.map(|p| Output::open("--trace", p)).transpose()?,
            dot: dot.map(|p| Output::open("--dot", p)).transpose()?,
        })
    }
}
