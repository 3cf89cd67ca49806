//! Rounds of communication, as the telephone model counts them: in one round a rank sends
//! at most one message and receives at most one, and a message can only be sent in a
//! round after the rounds of the messages its sender had received before sending it.
//! So a binomial tree on p ranks takes ⌈lg p⌉ rounds, a root that sends to every rank in
//! turn p − 1, and a ring exchange with sendrecv 1.

use crate::trace::{EventKind, Trace};
use std::collections::BTreeMap;

/// The rounds of a run, from its trace: each message's round is the first after its
/// sender's last send and what its sender had received (at the send), and after its
/// receiver's last receive (at the match); the run's rounds are the largest.
pub fn rounds(trace: &Trace) -> u64 {
    let mut known = vec![0u64; trace.ranks]; // the round by which a rank had what it received
    let mut sent = vec![0u64; trace.ranks]; // the round of a rank's last send
    let mut received = vec![0u64; trace.ranks]; // the round of a rank's last receive
    let mut earliest: BTreeMap<u64, u64> = BTreeMap::new(); // message id → its earliest round
    let mut most = 0;
    for event in &trace.events {
        let rank = event.rank;
        match event.kind {
            EventKind::Send { msg, .. } => {
                let round = known[rank].max(sent[rank]) + 1;
                sent[rank] = round;
                earliest.insert(msg, round);
            }
            EventKind::Match { msg, .. } => {
                let round = earliest.remove(&msg).unwrap_or(1).max(received[rank] + 1);
                received[rank] = round;
                known[rank] = known[rank].max(round);
                most = most.max(round);
            }
            _ => {}
        }
    }
    most
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::World;
    use crate::Comm;

    /// The rounds of `program` on each of `sizes` ranks.
    #[track_caller]
    fn check(program: fn(&Comm), sizes: &[usize], expected: &[u64]) {
        let seen: Vec<u64> = sizes.iter().map(|&p| rounds(&World::new(p).run(program).unwrap().trace)).collect();
        assert_eq!(seen, expected, "on {sizes:?} ranks");
    }

    fn binomial_bcast(comm: &Comm) {
        let (rank, p) = (comm.rank(), comm.size());
        let mut mask = 1;
        while mask < p {
            if rank & mask != 0 {
                let _: u64 = comm.recv(rank - mask, 0);
                break;
            }
            mask <<= 1;
        }
        mask >>= 1;
        while mask > 0 {
            if rank + mask < p {
                comm.send(&7u64, rank + mask, 0);
            }
            mask >>= 1;
        }
    }

    fn linear_gather(comm: &Comm) {
        if comm.rank() == 0 {
            for r in 1..comm.size() {
                let _: u64 = comm.recv(r, 0);
            }
        } else {
            comm.send(&1u64, 0, 0);
        }
    }

    fn sendrecv_ring(comm: &Comm) {
        let (rank, p) = (comm.rank(), comm.size());
        let _: usize = comm.sendrecv(&rank, (rank + 1) % p, 0, (rank + p - 1) % p, 0);
    }

    fn parity_ring(comm: &Comm) {
        let (rank, p) = (comm.rank(), comm.size());
        let (right, left) = ((rank + 1) % p, (rank + p - 1) % p);
        if rank % 2 == 0 {
            comm.send(&rank, right, 0);
            let _: usize = comm.recv(left, 0);
        } else {
            let _: usize = comm.recv(left, 0);
            comm.send(&rank, right, 0);
        }
    }

    #[test]
    fn rounds_of_known_patterns() {
        check(binomial_bcast, &[1, 2, 3, 4, 5, 8, 9, 16], &[0, 1, 2, 2, 3, 3, 4, 4]);
        check(linear_gather, &[1, 2, 4, 8], &[0, 1, 3, 7]);
        check(sendrecv_ring, &[2, 4, 7], &[1, 1, 1]);
        check(parity_ring, &[2, 4, 6], &[2, 2, 2]);
    }

    #[test]
    fn a_library_reduce_is_a_tree() {
        let reduce = |comm: &Comm| {
            comm.reduce(&comm.rank(), crate::op::SUM, 0);
        };
        let seen: Vec<u64> = [2, 4, 8, 16].iter().map(|&p| rounds(&World::new(p).run(reduce).unwrap().trace)).collect();
        assert_eq!(seen, [1, 2, 3, 4]);
    }
}
