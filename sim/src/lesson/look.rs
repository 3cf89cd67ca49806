//! "Look at" pointers: where in a step's run the student should look, resolved on the
//! run's timeline to a cursor (an event index), a rank, and maybe a message.

use super::run::StepRun;
use super::UnknownCall;
use crate::{CallKind, Rank};
use serde::Deserialize;
use std::fmt;

/// Where to look in a run. In a lesson file: `FirstBlocked`, `Message(from: 0, to: 1)`,
/// `Call(rank: 0, call: "MPI_Bcast")`, `Rank(2)`, `Time(1500)`, `Start`, `End`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub enum LookAt {
    /// The end of the run, with every rank's last state.
    #[default]
    End,
    /// The start of the run.
    Start,
    /// The call that blocked first of those that never returned.
    FirstBlocked,
    /// The `nth` message from `from` to `to` (0 is the first), just after it was sent.
    Message {
        /// Sender.
        from: Rank,
        /// Receiver.
        to: Rank,
        /// 0 for the first such message.
        #[serde(default)]
        nth: usize,
    },
    /// The `nth` call of a kind by `rank`, just after it began.
    Call {
        /// The rank.
        rank: Rank,
        /// The call (`MPI_Bcast`, `waitall`).
        call: String,
        /// 0 for the first such call.
        #[serde(default)]
        nth: usize,
    },
    /// A rank, at the end of the run.
    Rank(Rank),
    /// The last event at or before a virtual time, in nanoseconds.
    Time(u64),
}

/// A resolved pointer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pointer {
    /// How many events have happened (`0..=events`).
    pub cursor: usize,
    /// The rank to select.
    pub rank: Option<Rank>,
    /// The message to select (an index into the timeline's messages).
    pub message: Option<usize>,
    /// The virtual time at the cursor.
    pub time: crate::Time,
    /// What it points at, in words.
    pub what: String,
}

impl LookAt {
    pub(crate) fn check(&self, ranks: usize) -> Result<(), LookError> {
        let rank_ok = |rank: Rank| if rank < ranks { Ok(()) } else { Err(LookError::NoSuchRank { rank, ranks }) };
        match self {
            LookAt::Message { from, to, .. } => rank_ok(*from).and(rank_ok(*to)),
            LookAt::Call { rank, call, .. } => {
                rank_ok(*rank).and(super::call_kind(call).map(|_| ()).map_err(Into::into))
            }
            LookAt::Rank(r) => rank_ok(*r),
            LookAt::End | LookAt::Start | LookAt::FirstBlocked | LookAt::Time(_) => Ok(()),
        }
    }

    /// Where the pointer is on `run`, or why it points at nothing there.
    pub fn resolve(&self, run: &StepRun) -> Result<Pointer, LookError> {
        let tl = &run.timeline;
        let end = tl.event_count;
        let at = |cursor: usize, rank: Option<Rank>, message: Option<usize>, what: String| {
            Ok(Pointer { cursor, rank, message, time: tl.time_at(cursor), what })
        };
        match self {
            LookAt::End => at(end, None, None, "the end of the run".into()),
            LookAt::Start => at(0, None, None, "the start of the run".into()),
            LookAt::FirstBlocked => {
                let c = tl
                    .unfinished()
                    .into_iter()
                    .min_by_key(|&c| tl.calls[c].enter_event)
                    .ok_or(LookError::NothingBlocked)?;
                let call = &tl.calls[c];
                let what = format!(
                    "rank {}'s {} at {}, the first call that never returned",
                    call.rank,
                    call.call.mpi_name(),
                    call.site
                );
                at(call.enter_event + 1, Some(call.rank), None, what)
            }
            LookAt::Message { from, to, nth } => {
                let (m, msg) = tl
                    .messages
                    .iter()
                    .enumerate()
                    .filter(|(_, m)| m.src == *from && m.dst == *to)
                    .nth(*nth)
                    .ok_or(LookError::NoMessage { from: *from, to: *to, nth: *nth })?;
                let what = format!("the message from rank {from} to rank {to} ({} bytes, {})", msg.bytes, msg.protocol);
                at(msg.send_event + 1, Some(*from), Some(m), what)
            }
            LookAt::Call { rank, call, nth } => {
                let kind = super::call_kind(call)?;
                let c = tl
                    .calls
                    .iter()
                    .filter(|c| c.rank == *rank && c.call == kind)
                    .nth(*nth)
                    .ok_or(LookError::NoCall { rank: *rank, call: kind, nth: *nth })?;
                let what = format!("rank {rank}'s {} at {}", kind.mpi_name(), c.site);
                at(c.enter_event + 1, Some(*rank), None, what)
            }
            LookAt::Rank(r) => at(end, Some(*r), None, format!("rank {r}")),
            LookAt::Time(ns) => {
                let cursor = run.sim.trace.events.partition_point(|e| e.time.as_nanos() <= *ns);
                at(cursor, None, None, format!("t = {}", crate::Time(*ns)))
            }
        }
    }
}

/// Why a pointer points at nothing: in a lesson file (a rank the run does not have, a
/// call mpisim does not know), or on the step's run (nothing of the kind happened).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LookError {
    /// A rank the run does not have.
    NoSuchRank {
        /// The rank named.
        rank: Rank,
        /// The run's ranks.
        ranks: usize,
    },
    /// The call named is not one mpisim knows.
    UnknownCall(UnknownCall),
    /// `FirstBlocked`, but every call returned.
    NothingBlocked,
    /// `Message`, but the run has no such message.
    NoMessage {
        /// Sender.
        from: Rank,
        /// Receiver.
        to: Rank,
        /// 0 for the first such message.
        nth: usize,
    },
    /// `Call`, but the rank makes no such call.
    NoCall {
        /// The rank.
        rank: Rank,
        /// The call.
        call: CallKind,
        /// 0 for the first such call.
        nth: usize,
    },
}

impl fmt::Display for LookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LookError::NoSuchRank { rank, ranks } => {
                write!(f, "rank {rank}, but the run has {ranks} ranks (0 to {})", ranks - 1)
            }
            LookError::UnknownCall(e) => write!(f, "{e}"),
            LookError::NothingBlocked => {
                f.write_str("FirstBlocked: every call of the run returned; nothing is blocked")
            }
            LookError::NoMessage { from, to, nth } => {
                write!(f, "Message: the run has no message {} from rank {from} to rank {to}", nth + 1)
            }
            LookError::NoCall { rank, call, nth } => {
                write!(f, "Call: rank {rank} makes no {} number {}", call.mpi_name(), nth + 1)
            }
        }
    }
}

impl std::error::Error for LookError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LookError::UnknownCall(e) => Some(e),
            _ => None,
        }
    }
}

impl From<UnknownCall> for LookError {
    fn from(e: UnknownCall) -> LookError {
        LookError::UnknownCall(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lesson::RunSpec;

    fn ring(flags: &str) -> StepRun {
        let p = crate::catalogue::find("ring").unwrap();
        RunSpec::new(p, flags.split_whitespace().map(String::from).collect()).unwrap().run()
    }

    #[test]
    fn pointers_resolve_on_the_timeline() {
        let stuck = ring("-n 4 --bytes 1MiB");
        let first = LookAt::FirstBlocked.resolve(&stuck).unwrap();
        assert_eq!(first.rank, Some(0));
        assert!(first.what.contains("MPI_Send at sim/src/catalogue/ring.rs:44"), "{}", first.what);
        let m = LookAt::Message { from: 2, to: 3, nth: 0 }.resolve(&stuck).unwrap();
        assert_eq!(stuck.timeline.messages[m.message.unwrap()].src, 2);
        assert_eq!(m.cursor, stuck.timeline.messages[m.message.unwrap()].send_event + 1);
        let call = LookAt::Call { rank: 1, call: "MPI_Send".into(), nth: 0 }.resolve(&stuck).unwrap();
        assert_eq!(call.rank, Some(1));
        assert_eq!(LookAt::End.resolve(&stuck).unwrap().cursor, stuck.timeline.event_count);

        let done = ring("-n 4 --bytes 8");
        let err = LookAt::FirstBlocked.resolve(&done).unwrap_err();
        assert_eq!(err, LookError::NothingBlocked);
        assert!(err.to_string().contains("nothing is blocked"), "{err}");
        let err = LookAt::Message { from: 0, to: 2, nth: 0 }.resolve(&done).unwrap_err();
        assert_eq!(err, LookError::NoMessage { from: 0, to: 2, nth: 0 });
        assert!(err.to_string().contains("no message 1"), "{err}");
        let err = LookAt::Call { rank: 0, call: "MPI_Bcast".into(), nth: 0 }.resolve(&done).unwrap_err();
        assert_eq!(err, LookError::NoCall { rank: 0, call: CallKind::Bcast, nth: 0 });
        assert_eq!(err.to_string(), "Call: rank 0 makes no MPI_Bcast number 1");
        let err = LookAt::Call { rank: 0, call: "MPI_Frobnicate".into(), nth: 0 }.resolve(&done).unwrap_err();
        assert!(matches!(&err, LookError::UnknownCall(UnknownCall { name }) if name == "MPI_Frobnicate"), "{err:?}");
        let t = LookAt::Time(1_000).resolve(&done).unwrap();
        assert!(t.time.as_nanos() <= 1_000);
        assert!(done.sim.trace.events[..t.cursor].iter().all(|e| e.time.as_nanos() <= 1_000));
        assert!(t.cursor < done.timeline.event_count);
        let err = LookAt::Rank(7).check(4).unwrap_err();
        assert_eq!(err, LookError::NoSuchRank { rank: 7, ranks: 4 });
        assert_eq!(err.to_string(), "rank 7, but the run has 4 ranks (0 to 3)");
    }
}
