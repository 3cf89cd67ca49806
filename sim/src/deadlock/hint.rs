//! The hint of a deadlock: advice in plain words, chosen from the report alone (its blocked
//! calls, their edges, the core, the finished ranks and the unreceived messages), so that
//! what it says can be checked against what the report shows.

use super::{BlockedCall, DeadlockReport, Peer, SendWait};
use crate::words::{ranks, unbuffered_above};
use crate::Rank;
use std::collections::{BTreeMap, BTreeSet};

/// Advice for `report` (whose own `hint` is not read), chosen by the pattern of its
/// blocked calls.
pub(crate) fn hint(report: &DeadlockReport) -> String {
    let facts = Facts::of(report);
    facts
        .unfinished_collective()
        .or_else(|| facts.collectives_out_of_order())
        .or_else(|| facts.wildcard_took_it())
        .or_else(|| facts.waits_for_finished())
        .or_else(|| facts.tags_out_of_order())
        .or_else(|| facts.all_sending())
        .or_else(|| facts.wildcard_knot())
        .or_else(|| facts.all_receiving())
        .unwrap_or_else(|| {
            "each blocked rank waits for another: follow the cycle above; a send or receive is missing or in the \
             wrong order"
                .into()
        })
}

/// What the hints look at, with the lookups they make per blocked call indexed: a report
/// can hold hundreds of thousands of ranks.
struct Facts<'a> {
    report: &'a DeadlockReport,
    /// The blocked calls of the core (every blocked call when there is no core).
    core: Vec<&'a BlockedCall>,
    /// The same, by rank.
    core_by_rank: BTreeMap<Rank, &'a BlockedCall>,
    /// Every blocked call, by rank.
    blocked_by_rank: BTreeMap<Rank, &'a BlockedCall>,
    /// Blocked calls that only finished ranks could release, with those ranks.
    stuck: Vec<(&'a BlockedCall, Vec<Rank>)>,
}

impl<'a> Facts<'a> {
    fn of(report: &'a DeadlockReport) -> Facts<'a> {
        let core_ranks: BTreeSet<Rank> = report.core.iter().copied().collect();
        let in_core = |b: &&BlockedCall| core_ranks.is_empty() || core_ranks.contains(&b.rank);
        let core: Vec<&BlockedCall> = report.blocked.iter().filter(in_core).collect();
        let finished: BTreeSet<Rank> = report.finished.iter().copied().collect();
        let stuck = report
            .blocked
            .iter()
            .map(|b| (b, dead_ends(report, &finished, b)))
            .filter(|(_, d)| !d.is_empty())
            .collect();
        let core_by_rank = core.iter().map(|b| (b.rank, *b)).collect();
        let blocked_by_rank = report.blocked.iter().map(|b| (b.rank, b)).collect();
        Facts { report, core, core_by_rank, blocked_by_rank, stuck }
    }

    /// A rank finished without calling a collective the others are in.
    fn unfinished_collective(&self) -> Option<String> {
        let (b, _) = self.stuck.iter().find(|(b, _)| b.call.is_collective())?;
        let gone = sorted(self.stuck.iter().filter(|(s, _)| s.call.is_collective()).flat_map(|(_, d)| d.clone()));
        let waiting: Vec<Rank> =
            self.report.blocked.iter().filter(|x| x.call.is_collective() && x.call == b.call).map(|x| x.rank).collect();
        Some(format!(
            "{} finished without calling {}, which {} {} in: every rank of a communicator must call each of its \
             collectives, in the same order",
            ranks(&gone),
            where_(b),
            ranks(&waiting),
            if waiting.len() == 1 { "is" } else { "are" }
        ))
    }

    /// Ranks of a cycle in different collectives, or some in a collective and some not.
    fn collectives_out_of_order(&self) -> Option<String> {
        let c = self.core.iter().find(|b| b.call.is_collective())?;
        let other = self.core.iter().find(|b| !b.call.is_collective() || (b.call, b.comm) != (c.call, c.comm))?;
        let other_is = if other.call.is_collective() { where_(other) } else { other.headline() };
        let strict = if self.report.strict {
            " In strict mode every collective synchronises: the program relies on a collective returning before \
             the other ranks have called it, which MPI does not promise."
        } else {
            ""
        };
        Some(format!(
            "collectives called in different orders: rank {} is in {} while rank {} is in {}. Every rank must call \
             the collectives of a communicator in the same order, and no rank may wait for a rank that first needs \
             it in a collective.{strict}",
            c.rank,
            where_(c),
            other.rank,
            other_is
        ))
    }

    /// A wildcard receive took the message a later receive from a named source expected,
    /// and another sender's message is left: another match order would have completed.
    fn wildcard_took_it(&self) -> Option<String> {
        self.stuck.iter().find_map(|(b, gone)| {
            let w = b.last_wildcard.as_ref()?;
            let named = b.peer == Some(Peer::Rank(w.source)) && gone.contains(&w.source);
            let left: Vec<String> = self
                .report
                .unreceived
                .iter()
                .filter(|u| u.rank == b.rank && u.source != w.source)
                .map(|u| format!("rank {} (tag {})", u.source, u.tag))
                .collect();
            if !named || left.is_empty() {
                return None;
            }
            Some(format!(
                "rank {} waits for rank {}, which finished; its ANY_SOURCE receive at {} took rank {}'s message \
                 earlier, and the message of {} is left unreceived. Which sender an ANY_SOURCE receive matches \
                 depends on timing, and MPI does not fix it: receive from explicit sources, or handle the messages \
                 in whatever order they come (--explore tries other orders)",
                b.rank,
                w.source,
                w.location,
                w.source,
                left.join(", ")
            ))
        })
    }

    /// Ranks wait for ranks that finished: a send or receive is missing.
    fn waits_for_finished(&self) -> Option<String> {
        if !self.report.core.is_empty() || self.stuck.is_empty() {
            return None;
        }
        let gone = sorted(self.stuck.iter().flat_map(|(_, d)| d.clone()));
        let waiting: Vec<Rank> = self.stuck.iter().map(|(b, _)| b.rank).collect();
        let wildcards = self.stuck.iter().filter(|(b, _)| b.peer == Some(Peer::Any)).count();
        let missing = if wildcards == self.stuck.len() {
            " Every sender has finished, so no order of matching could complete the run: more messages are \
             received than sent"
        } else {
            ""
        };
        Some(format!(
            "{} finished while {} still wait{} for {}: a matching send or receive is missing there, or has \
             another source or tag.{missing}{}",
            ranks(&gone),
            ranks(&waiting),
            if waiting.len() == 1 { "s" } else { "" },
            if gone.len() == 1 { "it" } else { "them" },
            self.arrived_note(&waiting),
        ))
    }

    /// Two ranks of the cycle: one blocked sending to the other, which waits for a message
    /// from it with another tag, one that it sends only later: the receives come in another
    /// order than the sends, which only buffering lets complete.
    fn tags_out_of_order(&self) -> Option<String> {
        self.core.iter().filter(|s| s.send_wait.is_some()).find_map(|send| {
            let Some(Peer::Rank(to)) = send.peer else { return None };
            let recv = self.core_by_rank.get(&to).filter(|r| {
                r.send_wait.is_none()
                    && r.peer == Some(Peer::Rank(send.rank))
                    && r.comm == send.comm
                    && r.tag.is_some()
                    && r.tag != send.tag
            })?;
            let tag = |t: Option<crate::Tag>| t.map_or("any tag".to_string(), |t| format!("tag {t}"));
            Some(format!(
                "rank {} waits for {} from rank {}, which is blocked sending {} first: the receives ask for the \
                 messages in another order than they are sent, and a send that is not buffered completes only \
                 once its receive is posted. Receive in the order of the sends, or post the receives with irecv \
                 (then waitall) so that either order matches",
                recv.rank,
                tag(recv.tag),
                send.rank,
                tag(send.tag)
            ))
        })
    }

    /// Every rank of the cycle is sending: why each send waits decides the advice.
    fn all_sending(&self) -> Option<String> {
        let waits: Vec<SendWait> = self.core.iter().filter_map(|b| b.send_wait).collect();
        if waits.is_empty() || waits.len() != self.core.len() {
            return None;
        }
        let who = self.who();
        let why = if waits.iter().all(|w| *w == SendWait::Synchronous) {
            "a synchronous send (ssend) completes only once its receive has started, whatever the message size, so \
             each send"
                .to_string()
        } else if waits.iter().all(|w| *w == SendWait::Strict) {
            "in strict mode no send is buffered, so every send".to_string()
        } else if waits.iter().all(|w| *w == SendWait::AboveEagerLimit) {
            format!("{}, so each send", unbuffered_above(self.report.eager_limit))
        } else {
            "none of these sends is buffered (each is synchronous, or above the eager limit), so each".to_string()
        };
        Some(format!(
            "{who} is sending and none is receiving; {why} waits for its receiver. Order the calls by rank parity \
             (even ranks send first, odd ranks receive first), or use sendrecv, or isend/irecv with waitall"
        ))
    }

    /// Wildcard receives in a knot whose earlier matches went another way.
    fn wildcard_knot(&self) -> Option<String> {
        let wildcard = self.core.iter().any(|b| b.peer == Some(Peer::Any));
        (wildcard && self.core.iter().any(|b| b.last_wildcard.is_some())).then(|| {
            "the ranks in the knot wait on ANY_SOURCE receives whose earlier matches went another way: which sender \
             an ANY_SOURCE receive matches depends on timing, and MPI does not fix it. Receive from explicit sources \
             where the order matters (--explore tries other orders)"
                .into()
        })
    }

    /// Every rank of the cycle is receiving.
    fn all_receiving(&self) -> Option<String> {
        if self.core.iter().any(|b| b.send_wait.is_some()) {
            return None;
        }
        let ranks: Vec<Rank> = self.core.iter().map(|b| b.rank).collect();
        Some(format!(
            "{} is receiving and none is sending: each waits for a message that is never sent. Let one side send \
             before it receives, or post the receives with irecv first.{}",
            self.who(),
            self.arrived_note(&ranks)
        ))
    }

    fn who(&self) -> &'static str {
        if self.core.len() == self.report.blocked.len() {
            "every blocked rank"
        } else {
            "every rank in the cycle"
        }
    }

    /// A note on messages that did arrive at `ranks` and were not taken, if any.
    fn arrived_note(&self, ranks: &[Rank]) -> String {
        let ranks: BTreeSet<Rank> = ranks.iter().copied().collect();
        let here: Vec<&super::Unreceived> = self.report.unreceived.iter().filter(|u| ranks.contains(&u.rank)).collect();
        if here.is_empty() {
            return String::new();
        }
        let elsewhere =
            here.iter().any(|u| self.blocked_by_rank.get(&u.rank).is_some_and(|b| b.comm.is_some_and(|c| c != u.comm)));
        let check = if elsewhere {
            "sources, tags and communicators (a message on another communicator never matches)"
        } else {
            "sources and tags"
        };
        format!(" Messages did arrive that no receive took (listed as unreceived): check their {check}.")
    }
}

/// The finished ranks `b` waits for in vain: those of every edge that only finished ranks
/// could satisfy.
fn dead_ends(report: &DeadlockReport, finished: &BTreeSet<Rank>, b: &BlockedCall) -> Vec<Rank> {
    let mut out = Vec::new();
    for w in &b.waits_on {
        let mut candidates: Vec<Rank> = w.ranks.clone();
        for comm in &w.any_of {
            candidates.extend(report.communicators.get(comm).into_iter().flatten().filter(|&&r| r != b.rank));
        }
        if !candidates.is_empty() && candidates.iter().all(|r| finished.contains(r)) {
            out.extend(candidates);
        }
    }
    sorted(out)
}

fn sorted(ranks: impl IntoIterator<Item = Rank>) -> Vec<Rank> {
    let mut out: Vec<Rank> = ranks.into_iter().collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// `MPI_Bcast on COMM_WORLD`.
fn where_(b: &BlockedCall) -> String {
    format!("{} on {}", b.call.mpi_name(), b.comm_text().unwrap_or_else(|| crate::words::comm_name(0)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::CallKind;
    use crate::deadlock::graph::on_rank;
    use crate::deadlock::{Unreceived, WaitsOn, WildcardMatch};
    use crate::time::Time;
    use crate::trace::Site;
    use std::collections::BTreeMap;

    fn site(line: u32) -> Site {
        Site { file: "prog.rs".into(), line, column: 5 }
    }

    /// A blocked call of `rank` in `call`, waiting on `waits_on`.
    fn blocked(rank: Rank, call: CallKind, peer: Option<Peer>, waits_on: Vec<WaitsOn>) -> BlockedCall {
        BlockedCall {
            rank,
            call,
            peer,
            tag: Some(0),
            bytes: None,
            comm: Some(0),
            comm_name: None,
            root: None,
            location: site(10 + rank as u32),
            waiting_for: String::new(),
            reason: String::new(),
            waits_on,
            last_wildcard: None,
            send_wait: None,
        }
    }

    fn send(rank: Rank, to: Rank, why: SendWait) -> BlockedCall {
        BlockedCall {
            bytes: Some(8),
            send_wait: Some(why),
            ..blocked(rank, CallKind::Send, Some(Peer::Rank(to)), vec![on_rank(to, "send".into())])
        }
    }

    fn recv(rank: Rank, from: Rank) -> BlockedCall {
        blocked(rank, CallKind::Recv, Some(Peer::Rank(from)), vec![on_rank(from, "recv".into())])
    }

    fn recv_any(rank: Rank) -> BlockedCall {
        let any = WaitsOn { ranks: vec![], any_of: vec![0], what: "recv from any".into() };
        blocked(rank, CallKind::Recv, Some(Peer::Any), vec![any])
    }

    fn report(blocked: Vec<BlockedCall>, finished: &[Rank], core: &[Rank]) -> DeadlockReport {
        let ranks = blocked.len() + finished.len();
        DeadlockReport {
            time: Time::ZERO,
            blocked,
            finished: finished.to_vec(),
            cycle: core.to_vec(),
            core: core.to_vec(),
            knot: false,
            communicators: BTreeMap::from([(0, (0..ranks).collect())]),
            unreceived: Vec::new(),
            eager_limit: 65_536,
            strict: false,
            hint: String::new(),
        }
    }

    fn unreceived(rank: Rank, source: Rank, comm: u32) -> Unreceived {
        Unreceived { rank, source, tag: 0, bytes: 1, call: CallKind::Send, location: site(3), comm, comm_name: None }
    }

    #[track_caller]
    fn check(report: DeadlockReport, has: &[&str], lacks: &[&str]) {
        let hint = hint(&report);
        for words in has {
            assert!(hint.contains(words), "the hint lacks `{words}`: {hint}");
        }
        for words in lacks {
            assert!(!hint.contains(words), "the hint says `{words}`: {hint}");
        }
    }

    #[test]
    fn hints_say_what_the_report_shows() {
        use SendWait::*;
        // A ring of sends: why each send waits is what the advice gives.
        let ring = |why| report(vec![send(0, 1, why), send(1, 2, why), send(2, 0, why)], &[], &[0, 1, 2]);
        check(ring(AboveEagerLimit), &["above the eager limit (64 KiB)", "rank parity"], &["synchronous"]);
        check(ring(Synchronous), &["synchronous send (ssend)", "whatever the message size"], &["eager limit"]);
        check(ring(Strict), &["in strict mode no send is buffered"], &["eager limit"]);
        let mixed = report(vec![send(0, 1, Synchronous), send(1, 0, AboveEagerLimit)], &[], &[0, 1]);
        check(mixed, &["none of these sends is buffered"], &[]);
        // A ring of receives.
        check(report(vec![recv(0, 1), recv(1, 0)], &[], &[0, 1]), &["none is sending"], &["unreceived"]);
        // A send blocked on tag 11 while its receiver waits for tag 22 from it.
        let tags = |send_tag, recv_tag| {
            let s = BlockedCall { tag: Some(send_tag), ..send(0, 1, Strict) };
            let r = BlockedCall { tag: Some(recv_tag), ..recv(1, 0) };
            report(vec![s, r], &[], &[0, 1])
        };
        check(tags(11, 22), &["rank 1 waits for tag 22 from rank 0, which is blocked sending tag 11 first"], &[]);
        check(tags(11, 11), &[], &["order of the sends"]);
        // No sends buffered at all: the sentence does not say "(none)".
        let mut zero = ring(AboveEagerLimit);
        zero.eager_limit = 0;
        check(zero, &["no message is buffered (the eager limit is 0)"], &["(none)"]);
        // Two wildcard receives, one sender that finished: no order helps.
        let mut lone = report(vec![recv_any(0)], &[1], &[]);
        lone.blocked[0].last_wildcard = Some(WildcardMatch { source: 1, location: site(4) });
        check(lone, &["finished", "no order of matching could complete"], &["--explore"]);
        // A wildcard took the message a named receive wanted; another sender's is left.
        let mut took = report(vec![recv(0, 2)], &[1, 2], &[]);
        took.blocked[0].last_wildcard = Some(WildcardMatch { source: 2, location: site(4) });
        took.unreceived = vec![unreceived(0, 1, 0)];
        check(took, &["took rank 2's message", "rank 1 (tag 0) is left unreceived", "--explore"], &[]);
        // A message on another communicator than the receive's.
        let mut elsewhere = report(vec![BlockedCall { comm: Some(1), ..recv(1, 0) }], &[0], &[]);
        elsewhere.unreceived = vec![unreceived(1, 0, 0)];
        check(elsewhere, &["a message on another communicator never matches"], &[]);
        // A rank finished without calling a collective the others are in.
        let bcast = |rank| blocked(rank, CallKind::Bcast, None, vec![on_rank(2, "bcast".into())]);
        check(report(vec![bcast(0), bcast(1)], &[2], &[]), &["rank 2 finished without calling MPI_Bcast"], &[]);
        // Collectives in different orders.
        let c = |rank, call, to| blocked(rank, call, None, vec![on_rank(to, "coll".into())]);
        let crossed = report(vec![c(0, CallKind::Bcast, 1), c(1, CallKind::Barrier, 0)], &[], &[0, 1]);
        check(crossed, &["collectives called in different orders"], &["strict mode"]);
    }
}
