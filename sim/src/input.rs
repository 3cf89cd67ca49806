//! Files the tool reads on a user's word (platform, lesson and exercise files, an
//! exercise's starter program), read with a cap: a path to `/dev/zero`, a log file or a
//! disk image given by mistake is refused at the cap instead of being read until memory
//! runs out.

use crate::words::bytes;
use std::fmt;
use std::io::Read;
use std::path::Path;

/// The most of a platform file that is read: a platform is a few hundred bytes.
pub const PLATFORM_CAP: u64 = 1 << 20;

/// The most of a lesson or exercise file that is read: the longest lesson is about 20 KiB.
pub const LESSON_CAP: u64 = 4 << 20;

/// The most of an exercise's starter program that is read.
pub const SOURCE_CAP: u64 = 4 << 20;

/// Why a file could not be read.
#[derive(Debug)]
#[non_exhaustive]
pub enum ReadError {
    /// The operating system's reason.
    Io(std::io::Error),
    /// The path is a directory.
    Directory,
    /// The file holds more than the cap.
    TooLarge {
        /// The cap, in bytes.
        cap: u64,
    },
    /// The file is not UTF-8 text.
    NotText,
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Io(e) => write!(f, "{e}"),
            ReadError::Directory => f.write_str("it is a directory, not a file"),
            ReadError::TooLarge { cap } => {
                write!(
                    f,
                    "it is larger than {}, the most mpisim reads of such a file; is it the right file?",
                    bytes(*cap)
                )
            }
            ReadError::NotText => f.write_str("it is not UTF-8 text"),
        }
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReadError::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// Reads `path` as text, refusing more than `cap` bytes (the file's reported size is not
/// trusted: devices and `/proc` files report 0).
pub fn read_capped(path: &Path, cap: u64) -> Result<String, ReadError> {
    let file = std::fs::File::open(path).map_err(ReadError::Io)?;
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        return Err(ReadError::Directory);
    }
    let mut buf = Vec::new();
    file.take(cap.saturating_add(1)).read_to_end(&mut buf).map_err(ReadError::Io)?;
    if buf.len() as u64 > cap {
        return Err(ReadError::TooLarge { cap });
    }
    String::from_utf8(buf).map_err(|_| ReadError::NotText)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endless_file_is_refused_at_the_cap() {
        let err = read_capped(Path::new("/dev/zero"), 1024).unwrap_err();
        assert_eq!(
            err.to_string(),
            "it is larger than 1 KiB, the most mpisim reads of such a file; is it the right file?"
        );
        assert!(matches!(read_capped(Path::new("/"), 1024), Err(ReadError::Directory)));
        assert!(matches!(read_capped(Path::new("/no/such/file"), 1024), Err(ReadError::Io(_))));
    }

    #[test]
    fn a_file_at_the_cap_is_read() {
        let dir = std::env::temp_dir().join(format!("mpisim-input-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("exact.txt");
        std::fs::write(&path, "x".repeat(1024)).unwrap();
        assert_eq!(read_capped(&path, 1024).unwrap().len(), 1024);
        assert!(matches!(read_capped(&path, 1023), Err(ReadError::TooLarge { cap: 1023 })));
        std::fs::write(&path, [0xff, 0xfe]).unwrap();
        assert!(matches!(read_capped(&path, 1024), Err(ReadError::NotText)));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
