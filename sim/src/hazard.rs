//! The buffering-hazard check's first question: did a run that completed rely on what MPI
//! allows but does not promise (eager sends buffered at the receiver, collectives that
//! return before every rank has called them)? Only then can a strict re-run go otherwise,
//! so only then does [`crate::World::check_buffering`] pay for one.
//!
//! Why a run without such reliance needs no re-run: take its events in the order the
//! engine made them. With no wildcard, test, `Waitany`/`Waitsome` or clock read, each
//! rank's calls and each receive's match do not depend on timing, so a strict run makes
//! the same calls. Every standard send there found its receive posted before it was sent,
//! so in the strict run too it completes once its receive is posted, which happened before
//! the send (by induction on that order); every blocking collective had all its members
//! begun before any left, so the strict gate releases each rank no later than its own
//! algorithm would have let it go, and inside it each round posts its receives with its
//! sends, so a round's messages need no buffer (the algorithms' own messages are not
//! counted as sends). Where timing could matter, any eager send or collective counts as
//! reliance.
//!
//! A run that did rely on buffering or an early collective may still show by itself that a
//! strict run completes: when no rank that went on past such a point made anyone else's
//! wait depend on it before it was resolved. The engine follows that causality as it runs
//! (the argument is in its `causality` module); then the check needs no re-run either
//! ([`BufferingCheck::Proven`]).

use std::fmt;

/// What a run did that a run with zero buffering and synchronising collectives might not
/// do alike.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Reliance {
    /// Standard (and ready) sends that went eager.
    pub eager_sends: u64,
    /// Of those, the ones whose receive was posted only after the send: with no buffer,
    /// they would have waited.
    pub buffered_sends: u64,
    /// Collectives begun (by any member).
    pub collectives: u64,
    /// Blocking collectives that some rank left before every member had begun them.
    pub early_collectives: u64,
    /// Whether the run's matches or branches can depend on timing: a wildcard receive or
    /// probe, a test, `MPI_Waitany`/`MPI_Waitsome`, `MPI_Cancel` or `MPI_Wtime`.
    pub timing: bool,
    /// Whether the run's own causality shows that a strict run completes all the same:
    /// no rank's wait depended on a rank that had gone on past an eager send not yet
    /// received, or past a collective not every member had begun. Never with `timing`.
    #[serde(default)]
    pub proven: bool,
}

impl Reliance {
    /// Whether a strict run could go otherwise.
    pub fn relied(&self) -> bool {
        self.buffered_sends > 0
            || self.early_collectives > 0
            || (self.timing && (self.eager_sends > 0 || self.collectives > 0))
    }

    /// Whether only a strict re-run can tell whether a strict run goes otherwise.
    pub fn needs_rerun(&self) -> bool {
        self.relied() && !self.proven
    }
}

impl fmt::Display for Reliance {
    /// The reasons, as a clause: "3 eager sends returned before their receive was posted".
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        // "1 eager send returned before its receive was posted", "2 … their …".
        let counted = |n: u64, what: &str, one: &str, many: &str| {
            let s = crate::words::plural(n as usize);
            (n > 0).then(|| format!("{n} {what}{s} returned {}", if n == 1 { one } else { many }))
        };
        let mut reasons: Vec<String> = [
            counted(
                self.buffered_sends,
                "eager send",
                "before its receive was posted",
                "before their receive was posted",
            ),
            counted(
                self.early_collectives,
                "collective",
                "on some rank before every rank had called it",
                "on some rank before every rank had called them",
            ),
        ]
        .into_iter()
        .flatten()
        .collect();
        if reasons.is_empty() && self.timing {
            reasons.push("what it matches can depend on timing (a wildcard receive, a test or MPI_Wtime)".to_string());
        }
        write!(f, "{}", reasons.join(", and "))
    }
}

/// Whether [`crate::World::check_buffering`] re-ran the program strictly, and why.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "check", rename_all = "snake_case")]
pub enum BufferingCheck {
    /// Not asked for, a strict run already, or a run that did not complete.
    #[default]
    NotRun,
    /// Not needed: the run relied on no buffering and no early return of a collective, so
    /// a strict run goes the same way.
    Unneeded,
    /// Not needed: the run relied on `reliance`, but its own causality shows that a strict
    /// run completes too.
    Proven {
        /// What it relied on.
        reliance: Reliance,
    },
    /// The strict re-run ran because of `reliance`; `hazard`: it deadlocked (the
    /// [`crate::Warning::BufferingHazard`] says how).
    Ran {
        /// Why it ran.
        reliance: Reliance,
        /// Whether it found a hazard.
        hazard: bool,
    },
}

impl fmt::Display for BufferingCheck {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            BufferingCheck::NotRun => write!(f, "buffering check: not run"),
            BufferingCheck::Unneeded => write!(
                f,
                "buffering check: not needed (every eager send found its receive posted and every collective \
                 synchronised, so a run without buffering goes the same way)"
            ),
            BufferingCheck::Proven { reliance } => write!(
                f,
                "buffering check: not needed ({reliance}, but nothing any rank waited for came after such a point, \
                 so a run without buffering completes too)"
            ),
            BufferingCheck::Ran { reliance, hazard: false } => {
                write!(f, "buffering check: a run without buffering completes too (checked because {reliance})")
            }
            BufferingCheck::Ran { reliance, hazard: true } => {
                write!(f, "buffering check: a run without buffering deadlocks (checked because {reliance})")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reliance_needs_a_send_that_waited_or_timing() {
        let eager = Reliance { eager_sends: 5, collectives: 2, ..Reliance::default() };
        assert!(!eager.relied());
        assert!(Reliance { timing: true, ..eager }.relied());
        assert!(Reliance { buffered_sends: 1, ..eager }.relied());
        assert!(Reliance { early_collectives: 1, ..eager }.relied());
        assert!(!Reliance { timing: true, ..Reliance::default() }.relied());
    }

    #[test]
    fn reasons_read_as_a_clause() {
        let r = Reliance { buffered_sends: 1, early_collectives: 3, ..Reliance::default() };
        assert_eq!(
            r.to_string(),
            "1 eager send returned before its receive was posted, and 3 collectives returned on some rank before \
             every rank had called them"
        );
    }
}
