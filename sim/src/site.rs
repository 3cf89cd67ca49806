//! Where an MPI call was made: the `#[track_caller]` location of a Rust caller, or a line
//! of a script (an mpi4py rank) that has no Rust location of its own.

use crate::trace::Site;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::panic::Location;
use std::sync::{Mutex, OnceLock};

/// A call site as the engine keeps it: a copyable pointer, so recording it costs nothing.
/// Two sites are equal when they are the same place (interned script lines are shared).
#[derive(Clone, Copy, Debug)]
pub(crate) enum CallSite {
    /// A Rust call, from `Location::caller()`.
    Rust(&'static Location<'static>),
    /// A line of a script, interned by [`CallSite::script`].
    Script(&'static ScriptLine),
}

/// A script's `file:line`, kept for the life of the process (one per distinct line).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ScriptLine {
    file: &'static str,
    line: u32,
}

impl CallSite {
    /// The caller's location.
    #[track_caller]
    pub fn here() -> CallSite {
        CallSite::Rust(Location::caller())
    }

    /// The site of line `line` of script `file`; the same line always gives the same site.
    /// Interned: a script has finitely many lines, so this leaks a bounded amount.
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn script(file: &str, line: u32) -> CallSite {
        static LINES: OnceLock<Mutex<BTreeMap<(String, u32), &'static ScriptLine>>> = OnceLock::new();
        let mut lines = LINES.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
        let key = (file.to_string(), line);
        if let Some(found) = lines.get(&key) {
            return CallSite::Script(found);
        }
        let made: &'static ScriptLine = Box::leak(Box::new(ScriptLine { file: Box::leak(file.into()), line }));
        lines.insert(key, made);
        CallSite::Script(made)
    }

    /// The source file.
    pub fn file(self) -> &'static str {
        match self {
            CallSite::Rust(l) => l.file(),
            CallSite::Script(s) => s.file,
        }
    }

    /// The 1-based line.
    pub fn line(self) -> u32 {
        match self {
            CallSite::Rust(l) => l.line(),
            CallSite::Script(s) => s.line,
        }
    }

    /// The 1-based column; 0 for a script line, which has none.
    pub fn column(self) -> u32 {
        match self {
            CallSite::Rust(l) => l.column(),
            CallSite::Script(_) => 0,
        }
    }

    /// The site as traces and reports show it (no allocation).
    pub fn site(self) -> Site {
        Site { file: Cow::Borrowed(self.file()), line: self.line(), column: self.column() }
    }

    /// An identity for maps keyed by site: the address of what it points to.
    pub fn key(self) -> usize {
        match self {
            CallSite::Rust(l) => l as *const Location<'static> as usize,
            CallSite::Script(s) => s as *const ScriptLine as usize,
        }
    }
}

impl PartialEq for CallSite {
    fn eq(&self, other: &CallSite) -> bool {
        self.key() == other.key()
    }
}

impl Eq for CallSite {}

impl From<&'static Location<'static>> for CallSite {
    fn from(location: &'static Location<'static>) -> CallSite {
        CallSite::Rust(location)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_lines_are_interned_and_read_back() {
        let a = CallSite::script("ring.py", 11);
        let b = CallSite::script("ring.py", 11);
        let c = CallSite::script("ring.py", 12);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.site().to_string(), "ring.py:11");
        assert_eq!((a.file(), a.line(), a.column()), ("ring.py", 11, 0));
    }

    #[test]
    fn rust_sites_are_their_location() {
        let here = CallSite::here();
        assert_eq!(here.file(), file!());
        assert_eq!(here, here);
        assert_ne!(here, CallSite::here());
    }
}
