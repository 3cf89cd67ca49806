//! The cost model: what a message, a computation and a poll cost in virtual time.
//!
//! One place holds the arithmetic the engine charges and the viewers read back:
//! - A link (LogGP): latency α, bandwidth (β = 1/bandwidth), send and receive overheads
//!   `o_s`, `o_r`, and the gap `g` between two injections by one rank.
//! - The eager rule: a standard or ready send of at most the eager limit goes eagerly
//!   (outside strict mode); a buffered send always does; a synchronous send never does.
//! - Eager, `n` bytes sent at `t`: the send completes at `t + o_s`; the data leaves the NIC
//!   at `inject = max(t + o_s, nic_free)` and its last byte arrives at `inject + α + ⌈nβ⌉`;
//!   the receive completes at `max(arrival, posted) + o_r`.
//! - Rendezvous, matched at `t`: the data leaves at `inject = max(t + handshake, nic_free)`
//!   and both sides complete when it has arrived, at `inject + α + ⌈nβ⌉` (the receive
//!   `o_r` later).
//! - Either way the sender's NIC is busy until `inject + max(g, ⌈nβ⌉)`.
//!
//! Times are integer nanoseconds; the one rounding is `⌈nβ⌉`, once per message. A link of
//! [`INFINITE_BANDWIDTH`](crate::platform::INFINITE_BANDWIDTH) (the ideal network) has
//! `⌈nβ⌉ = 0` for any n.

use crate::call::SendMode;
use crate::platform::{Link, Platform};
use crate::time::Time;
use crate::trace::Protocol;
use crate::Rank;

impl Link {
    /// Time the bytes of an `n`-byte message occupy the wire: ⌈n · 10⁹ / bandwidth⌉ ns.
    ///
    /// Rounding rule: the exact quotient is rounded up once per message, so a message
    /// never takes less time than its bandwidth allows and integer arithmetic stays exact.
    pub fn wire_time(&self, bytes: u64) -> Time {
        if self.bandwidth == crate::platform::INFINITE_BANDWIDTH {
            return Time::ZERO;
        }
        let ns = (u128::from(bytes) * 1_000_000_000).div_ceil(u128::from(self.bandwidth.max(1)));
        Time(u64::try_from(ns).unwrap_or(u64::MAX))
    }

    /// α + ⌈n·β⌉: the time from injection to the arrival of the last byte.
    pub fn transfer_time(&self, bytes: u64) -> Time {
        Time(self.latency_ns) + self.wire_time(bytes)
    }

    /// How long one injection of `bytes` keeps the sender's NIC busy: max(g, ⌈n·β⌉).
    fn occupancy(&self, bytes: u64) -> Time {
        Time(self.gap_ns).max(self.wire_time(bytes))
    }
}

impl Platform {
    /// The link a message from world rank `src` to world rank `dst` uses.
    pub fn link(&self, src: Rank, dst: Rank) -> &Link {
        let per = self.ranks_per_node.max(1) as usize;
        if src / per == dst / per {
            &self.intra
        } else {
            &self.inter
        }
    }

    /// Whether a standard-mode message of `bytes` is sent eagerly.
    pub fn is_eager(&self, bytes: u64) -> bool {
        self.eager_limit > 0 && bytes <= self.eager_limit
    }

    /// Virtual time of `duration` of computation on this platform.
    pub fn compute_time(&self, duration: Time) -> Time {
        Time((duration.as_nanos() as f64 / self.compute_speed).round() as u64)
    }

    /// Virtual time of `n` floating-point operations.
    pub fn flops_time(&self, n: u64) -> Time {
        Time((n as f64 * 1e9 / self.flops).round() as u64)
    }

    /// The protocol a send of `bytes` in `mode` uses; `strict` makes every standard send
    /// synchronous. The one eager rule of the simulator.
    pub(crate) fn protocol(&self, mode: SendMode, bytes: u64, strict: bool) -> Protocol {
        let eager = match mode {
            SendMode::Buffered => true,
            SendMode::Standard | SendMode::Ready => !strict && self.is_eager(bytes),
            SendMode::Synchronous => false,
        };
        if eager {
            Protocol::Eager
        } else {
            Protocol::Rendezvous
        }
    }

    /// When a send call made at `now` from `src` to `dst` returns to its program, as far as
    /// the sender's own overhead goes.
    pub fn send_done(&self, src: Rank, dst: Rank, now: Time) -> Time {
        now + Time(self.link(src, dst).send_overhead_ns)
    }

    /// When a receive whose message's last byte is there at `delivered` completes.
    pub fn recv_done(&self, src: Rank, dst: Rank, delivered: Time) -> Time {
        delivered + Time(self.link(src, dst).recv_overhead_ns)
    }

    /// The times of an eager message of `bytes` sent at `now` by a NIC free from
    /// `nic_free`, with `jitter` added to its flight (zero unless exploring).
    pub(crate) fn eager(&self, src: Rank, dst: Rank, bytes: u64, now: Time, nic_free: Time, jitter: Time) -> Flight {
        let link = self.link(src, dst);
        let sent = self.send_done(src, dst, now);
        let inject = sent.max(nic_free);
        Flight {
            inject,
            arrival: inject + link.transfer_time(bytes) + jitter,
            nic_free: inject + link.occupancy(bytes),
        }
    }

    /// The times of a rendezvous message of `bytes` whose receive was matched at `now`, by a
    /// sender NIC free from `nic_free`.
    pub(crate) fn rendezvous(&self, src: Rank, dst: Rank, bytes: u64, now: Time, nic_free: Time) -> Flight {
        let link = self.link(src, dst);
        let inject = (now + Time(self.handshake_ns)).max(nic_free);
        Flight { inject, arrival: inject + link.transfer_time(bytes), nic_free: inject + link.occupancy(bytes) }
    }
}

/// When a message's data leaves, when its last byte arrives, and when its sender's NIC is
/// free again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Flight {
    pub inject: Time,
    pub arrival: Time,
    pub nic_free: Time,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_time_rounds_up_once() {
        let link = Link { bandwidth: 3_000_000_000, ..Link::default() };
        assert_eq!(link.wire_time(3), Time(1));
        assert_eq!(link.wire_time(4), Time(2));
        assert_eq!(Link::default().transfer_time(1024), Time(2_024));
    }

    #[test]
    fn the_eager_rule() {
        let p = Platform { eager_limit: 100, ..Platform::default() };
        let check = |mode, bytes, strict, expected| assert_eq!(p.protocol(mode, bytes, strict), expected);
        check(SendMode::Standard, 100, false, Protocol::Eager);
        check(SendMode::Standard, 101, false, Protocol::Rendezvous);
        check(SendMode::Standard, 1, true, Protocol::Rendezvous);
        check(SendMode::Ready, 8, false, Protocol::Eager);
        check(SendMode::Buffered, 1 << 30, true, Protocol::Eager);
        check(SendMode::Synchronous, 0, false, Protocol::Rendezvous);
        let none = Platform { eager_limit: 0, ..Platform::default() };
        assert_eq!(none.protocol(SendMode::Standard, 0, false), Protocol::Rendezvous);
    }

    #[test]
    fn flights_follow_loggp() {
        let link = Link {
            latency_ns: 1000,
            bandwidth: 1_000_000_000,
            send_overhead_ns: 50,
            recv_overhead_ns: 70,
            gap_ns: 300,
        };
        let p = Platform { intra: link.clone(), inter: link, handshake_ns: 200, ..Platform::default() };
        // Eager: injected after the send overhead; a small message keeps the NIC for g.
        let f = p.eager(0, 1, 100, Time(10), Time::ZERO, Time::ZERO);
        assert_eq!(f, Flight { inject: Time(60), arrival: Time(1160), nic_free: Time(360) });
        // A busy NIC delays injection; a large message keeps it for its wire time.
        let f = p.eager(0, 1, 1000, Time(10), Time(500), Time(7));
        assert_eq!(f, Flight { inject: Time(500), arrival: Time(2507), nic_free: Time(1500) });
        // Rendezvous: the handshake after the match, then the data.
        let f = p.rendezvous(0, 1, 2000, Time(100), Time::ZERO);
        assert_eq!(f, Flight { inject: Time(300), arrival: Time(3300), nic_free: Time(2300) });
        assert_eq!(p.recv_done(0, 1, f.arrival), Time(3370));
        assert_eq!(p.send_done(0, 1, Time(5)), Time(55));
    }
}
