//! "Look at" pointers: where in a step's run the student should look, resolved on the
//! run's timeline to a cursor (an event index), a rank, and maybe a message.

use super::run::StepRun;
use crate::Rank;
use serde::Deserialize;

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
    pub(crate) fn check(&self, ranks: usize) -> Result<(), String> {
        let rank_ok = |r: Rank| {
            if r < ranks {
                Ok(())
            } else {
                Err(format!("rank {r}, but the run has {ranks} ranks (0 to {})", ranks - 1))
            }
        };
        match self {
            LookAt::Message { from, to, .. } => rank_ok(*from).and(rank_ok(*to)),
            LookAt::Call { rank, call, .. } => rank_ok(*rank).and(super::call_kind(call).map(|_| ())),
            LookAt::Rank(r) => rank_ok(*r),
            LookAt::End | LookAt::Start | LookAt::FirstBlocked | LookAt::Time(_) => Ok(()),
        }
    }

    /// Where the pointer is on `run`, or why it points at nothing there.
    pub fn resolve(&self, run: &StepRun) -> Result<Pointer, String> {
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
                    .ok_or("FirstBlocked: every call of the run returned; nothing is blocked")?;
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
                    .ok_or_else(|| {
                        format!("Message: the run has no message {} from rank {from} to rank {to}", nth + 1)
                    })?;
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
                    .ok_or_else(|| format!("Call: rank {rank} makes no {} number {}", kind.mpi_name(), nth + 1))?;
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
        assert!(LookAt::FirstBlocked.resolve(&done).unwrap_err().contains("nothing is blocked"));
        assert!(LookAt::Message { from: 0, to: 2, nth: 0 }.resolve(&done).unwrap_err().contains("no message 1"));
        assert!(LookAt::Call { rank: 0, call: "MPI_Bcast".into(), nth: 0 }.resolve(&done).is_err());
        let t = LookAt::Time(1_000).resolve(&done).unwrap();
        assert!(t.time.as_nanos() <= 1_000);
        assert!(done.sim.trace.events[..t.cursor].iter().all(|e| e.time.as_nanos() <= 1_000));
        assert!(t.cursor < done.timeline.event_count);
        assert!(LookAt::Rank(7).check(4).unwrap_err().contains("the run has 4 ranks"));
    }
}
