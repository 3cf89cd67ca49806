//! Files users hand to mpisim (traces, platform files), read whole but never without a
//! bound: a file larger than its cap, a device such as `/dev/zero` or a binary file is
//! refused after reading at most the cap, with what it is and what the cap is.

use crate::words;
use std::fmt;
use std::io::Read;
use std::path::Path;

/// The most of a lesson or exercise file that is read: the longest lesson is about 20 KiB.
pub const LESSON_CAP: u64 = 4 << 20;

/// The most of an exercise's starter program that is read.
pub const SOURCE_CAP: u64 = 4 << 20;

/// Why a file could not be read as text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputError {
    /// The operating system refused (no such file, no permission, a directory…).
    Io {
        /// The operating system's reason.
        reason: String,
    },
    /// It is larger than the cap. `size` is `None` when its size is not known in advance
    /// (a pipe, a device): then more than `cap` bytes were there.
    TooLarge {
        /// Its size in bytes, if known.
        size: Option<u64>,
        /// The cap in bytes.
        cap: u64,
    },
    /// A NUL byte, or bytes that are not UTF-8: a binary file, not text.
    Binary {
        /// Offset of the first offending byte.
        offset: u64,
    },
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputError::Io { reason } => f.write_str(reason),
            InputError::TooLarge { size: Some(size), cap } => {
                write!(f, "it is {}, more than the {} that mpisim reads", words::bytes(*size), words::bytes(*cap))
            }
            InputError::TooLarge { size: None, cap } => {
                write!(f, "it holds more than the {} that mpisim reads", words::bytes(*cap))
            }
            InputError::Binary { offset } => write!(f, "it is not text (byte {offset} is NUL or not UTF-8)"),
        }
    }
}

impl std::error::Error for InputError {}

/// The text of the file at `path`, if it has at most `cap` bytes of UTF-8 without NUL.
/// A regular file's size is checked before anything is read; anything else is read up to
/// `cap + 1` bytes.
pub fn read_capped(path: &Path, cap: u64) -> Result<String, InputError> {
    let io = |e: std::io::Error| InputError::Io { reason: e.to_string() };
    let file = std::fs::File::open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if meta.is_dir() {
        return Err(InputError::Io { reason: "it is a directory".into() });
    }
    if meta.is_file() && meta.len() > cap {
        return Err(InputError::TooLarge { size: Some(meta.len()), cap });
    }
    let mut bytes = Vec::new();
    let mut reader = file.take(cap.saturating_add(1));
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = match reader.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io(e)),
        };
        // A NUL never occurs in text: stop at once rather than read a device to the cap.
        if let Some(at) = chunk[..n].iter().position(|&b| b == 0) {
            return Err(InputError::Binary { offset: (bytes.len() + at) as u64 });
        }
        bytes.extend_from_slice(&chunk[..n]);
        if bytes.len() as u64 > cap {
            return Err(InputError::TooLarge { size: None, cap });
        }
    }
    String::from_utf8(bytes).map_err(|e| InputError::Binary { offset: e.utf8_error().valid_up_to() as u64 })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!("mpisim-input-{name}-{}", std::process::id()));
        std::fs::write(&path, bytes).unwrap();
        path
    }

    #[test]
    fn text_within_the_cap_is_read() {
        let path = scratch("ok", "naïve\n".as_bytes());
        assert_eq!(read_capped(&path, 7).unwrap(), "naïve\n");
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn what_cannot_be_text_is_refused_with_its_size_and_the_cap() {
        let path = scratch("big", &[b'x'; 2048]);
        let err = read_capped(&path, 1024).unwrap_err();
        assert_eq!(err, InputError::TooLarge { size: Some(2048), cap: 1024 });
        assert_eq!(err.to_string(), "it is 2 KiB, more than the 1 KiB that mpisim reads");
        std::fs::remove_file(path).unwrap();
        let path = scratch("nul", b"{\"a\": \0}");
        assert_eq!(read_capped(&path, 1024).unwrap_err(), InputError::Binary { offset: 6 });
        std::fs::remove_file(path).unwrap();
        let path = scratch("latin1", b"caf\xe9");
        assert_eq!(read_capped(&path, 1024).unwrap_err(), InputError::Binary { offset: 3 });
        std::fs::remove_file(path).unwrap();
        let dir = std::env::temp_dir();
        assert!(matches!(read_capped(&dir, 1024), Err(InputError::Io { .. })));
    }

    #[test]
    fn a_device_is_read_no_further_than_the_cap() {
        // /dev/zero never ends: its first NUL stops the read.
        assert_eq!(read_capped(Path::new("/dev/zero"), 1 << 30).unwrap_err(), InputError::Binary { offset: 0 });
    }
}
