//! The cost model: exact virtual times of ping-pongs, rings and LogGP overheads, and the
//! deadlocks that the eager limit decides.

mod common;

use mpisim::platform::Link;
use mpisim::*;
use serde::de::{Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;
use std::time::Duration;

/// The line of this file that ends with the marker comment `// @name`.
fn line_of(name: &str) -> u32 {
    common::marked_line(include_str!("cost.rs"), name)
}

/// α + ⌈n · 10⁹ / B⌉ ns, computed here independently of the engine.
fn one_way(link: &Link, bytes: u64) -> u64 {
    let wire = (u128::from(bytes) * 1_000_000_000).div_ceil(u128::from(link.bandwidth));
    link.latency_ns + u64::try_from(wire).unwrap()
}

fn link(latency_ns: u64, bandwidth: u64) -> Link {
    Link { latency_ns, bandwidth, ..Link::default() }
}

fn platform(name: &str, eager_limit: u64, ranks_per_node: u32, intra: Link, inter: Link) -> Platform {
    Platform { name: name.into(), eager_limit, ranks_per_node, intra, inter, ..Platform::default() }
}

/// Message bytes serialised as one byte string: the same encoding as a `Vec<u8>` (a length
/// prefix, then the bytes) without a serde call per byte, so that messages of several MiB
/// stay quick in unoptimised test builds.
#[derive(Clone, Debug, PartialEq)]
struct Blob(Vec<u8>);

impl Serialize for Blob {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Blob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Blob, D::Error> {
        struct Bytes;
        impl Visitor<'_> for Bytes {
            type Value = Blob;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a byte string")
            }
            fn visit_bytes<E>(self, v: &[u8]) -> Result<Blob, E> {
                Ok(Blob(v.to_vec()))
            }
            fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Blob, E> {
                Ok(Blob(v))
            }
        }
        d.deserialize_byte_buf(Bytes)
    }
}

/// A message of exactly `bytes` bytes on the wire, made with `payload_of_size`.
fn message(bytes: u64) -> Blob {
    let payload = payload_of_size(bytes);
    assert_eq!(encoded_len(&payload), bytes, "payload_of_size({bytes}) must be exact for this test");
    let blob = Blob(payload);
    assert_eq!(encoded_len(&blob), bytes, "a blob encodes as its Vec<u8> does");
    blob
}

fn protocols(trace: &Trace) -> Vec<Protocol> {
    trace
        .events
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::Send { protocol, .. } => Some(protocol),
            _ => None,
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Ping-pong

/// Ranks `a` and `b` of a world of `ranks` play `round_trips` round trips of `bytes`
/// bytes over `link`: the run must take exactly r × 2 × (α + ⌈n/B⌉).
#[track_caller]
fn check_ping_pong(p: &Platform, ranks: usize, (a, b): (Rank, Rank), link: &Link, bytes: u64, round_trips: u64) {
    let msg = message(bytes);
    let program = |comm: &Comm| -> u64 {
        for _ in 0..round_trips {
            if comm.rank() == a {
                comm.send(&msg, b, 0);
                let back: Blob = comm.recv(b, 0);
                assert_eq!(back, msg);
            } else if comm.rank() == b {
                let got: Blob = comm.recv(a, 0);
                comm.send(&got, a, 0);
            }
        }
        comm.now().as_nanos()
    };
    let run = World::new(ranks).platform(p.clone()).run(program).unwrap_or_else(|e| panic!("{e}"));
    let expected = round_trips * 2 * one_way(link, bytes);
    let what = format!("{} bytes, {round_trips} round trips between {a} and {b} on {}", bytes, p.name);
    assert_eq!(run.time, Time(expected), "{what}");
    assert_eq!(run.results[a], expected, "{what}: rank {a}'s clock");
    let protocol = if bytes <= p.eager_limit { Protocol::Eager } else { Protocol::Rendezvous };
    assert_eq!(protocols(&run.trace), vec![protocol; 2 * round_trips as usize], "{what}");
    assert_eq!(run.stats.bytes, 2 * round_trips * bytes);
    assert_eq!(run.warnings, vec![]);
}

#[test]
fn ping_pong_takes_round_trips_times_two_transfers() {
    let default = Platform::default();
    let openmpi = platform("openmpi-like", 4096, 1, Link::default(), link(250, 8_400_000_000));
    let slow = platform("slow-odd", 1000, 1, Link::default(), link(10, 7_000_000));
    let cluster = platform("two-per-node", 128 * 1024, 2, link(150, 20_000_000_000), link(5_000, 3_000_000_000));
    for bytes in [1, 8, 1000, 65_535, 65_536, 65_537, 100_003, 1 << 20] {
        for r in [1, 3] {
            check_ping_pong(&default, 2, (0, 1), &default.inter, bytes, r);
        }
    }
    for bytes in [1, 8, 4095, 4096, 4097, 12_295, 1 << 20] {
        check_ping_pong(&openmpi, 2, (0, 1), &openmpi.inter, bytes, 1);
        check_ping_pong(&openmpi, 2, (0, 1), &openmpi.inter, bytes, 4);
    }
    for bytes in [1, 7, 999, 1000, 1001, 3007] {
        check_ping_pong(&slow, 2, (0, 1), &slow.inter, bytes, 2);
    }
    for bytes in [1, 8, 131_071, 131_072, 131_073, 1 << 20, 3 << 20] {
        // Ranks 0 and 1 share node 0, ranks 2 and 3 node 1.
        check_ping_pong(&cluster, 4, (0, 1), &cluster.intra, bytes, 2);
        check_ping_pong(&cluster, 4, (3, 2), &cluster.intra, bytes, 2);
        check_ping_pong(&cluster, 4, (0, 2), &cluster.inter, bytes, 2);
        check_ping_pong(&cluster, 4, (3, 1), &cluster.inter, bytes, 1);
    }
}

/// A rendezvous message of `bytes` sent at `send_at` ns and received from `post_at` ns:
/// both sides complete at max(send, post) + α + n·β.
#[track_caller]
fn check_rendezvous(send_at: u64, post_at: u64, bytes: u64) {
    let msg = message(bytes);
    let run = World::new(2)
        .run(|comm| {
            if comm.rank() == 0 {
                comm.compute(Duration::from_nanos(send_at));
                comm.send(&msg, 1, 0);
            } else {
                comm.compute(Duration::from_nanos(post_at));
                let _: Blob = comm.recv(0, 0);
            }
            comm.now().as_nanos()
        })
        .unwrap();
    let done = send_at.max(post_at) + one_way(&Link::default(), bytes);
    assert_eq!(run.results, vec![done, done], "send at {send_at}, post at {post_at}");
}

#[test]
fn a_rendezvous_completes_at_the_later_side_plus_one_transfer() {
    check_rendezvous(0, 0, 100_000);
    check_rendezvous(5_000, 0, 100_000);
    check_rendezvous(0, 5_000, 100_000);
    check_rendezvous(7_000, 3_000, 1 << 20);
    check_rendezvous(3_000, 7_000, 1 << 20);
}

// ---------------------------------------------------------------------------------------
// The ring

/// The blocking ring: every rank sends `msg` to its right, then receives from its left.
fn ring(comm: &Comm, msg: &Blob) -> usize {
    let (rank, size) = (comm.rank(), comm.size());
    comm.send(msg, (rank + 1) % size, 0); // @ring-send
    let got: Blob = comm.recv((rank + size - 1) % size, 0);
    got.0.len()
}

#[test]
fn a_ring_of_small_messages_completes_in_one_transfer() {
    for n in 1..=9 {
        let run = World::new(n).run(|c| ring(c, &message(8))).unwrap_or_else(|e| panic!("{n} ranks: {e}"));
        assert_eq!(run.time, Time(1_000 + 8), "{n} ranks");
        assert_eq!(run.results, vec![7; n]);
    }
}

/// The blocking ring of `bytes` on `world` must deadlock with every rank in its send.
#[track_caller]
fn check_ring_deadlock(world: World, bytes: u64) -> DeadlockReport {
    let n = world.ranks();
    let msg = message(bytes);
    let report = match world.run(|c| ring(c, &msg)) {
        Err(SimError::Deadlock(report)) => report,
        other => panic!("{n} ranks, {bytes} bytes: expected a deadlock, got {other:?}"),
    };
    assert_eq!(report.blocked.len(), n, "{report:?}");
    assert_eq!(report.finished, Vec::<Rank>::new());
    assert_eq!(report.time, Time::ZERO);
    for (rank, b) in report.blocked.iter().enumerate() {
        assert_eq!(b.rank, rank);
        assert_eq!(b.call, CallKind::Send, "{b:?}");
        assert_eq!(b.peer, Some(Peer::Rank((rank + 1) % n)), "{b:?}");
        assert_eq!(b.tag, Some(0));
        assert_eq!(b.bytes, Some(bytes), "{b:?}");
        assert_eq!((b.location.file.as_ref(), b.location.line), (file!(), line_of("ring-send")), "{b:?}");
    }
    report
}

#[test]
fn a_ring_above_the_eager_limit_deadlocks_in_send() {
    for n in 1..=9 {
        let report = check_ring_deadlock(World::new(n), 1 << 20);
        assert_eq!(report.eager_limit, 64 * 1024);
        assert!(report.hint.contains("eager limit (64 KiB)"), "{}", report.hint);
    }
    // Just above the limit is enough.
    check_ring_deadlock(World::new(4), 64 * 1024 + 1);
}

#[test]
fn with_no_eager_limit_even_a_ring_of_8_bytes_deadlocks() {
    for n in 2..=9 {
        let report = check_ring_deadlock(World::new(n).eager_limit(0), 8);
        assert_eq!(report.eager_limit, 0);
    }
    check_ring_deadlock(World::new(3).platform(Platform::preset("zero").unwrap()), 8);
}

#[test]
fn strict_mode_deadlocks_a_ring_of_8_bytes() {
    for n in 2..=9 {
        let report = check_ring_deadlock(World::new(n).strict(true), 8);
        assert!(report.hint.contains("strict"), "{}", report.hint);
        assert!(report.blocked.iter().all(|b| b.waiting_for.contains("strict")), "{:?}", report.blocked);
    }
}

#[test]
fn a_ring_ordered_by_parity_completes() {
    let bytes = 1 << 20;
    let t = one_way(&Link::default(), bytes);
    let blob = message(bytes);
    for n in 2..=9 {
        let run = World::new(n)
            .run(|comm| {
                let (rank, size) = (comm.rank(), comm.size());
                let mut msg = blob.clone();
                msg.0[0] = rank as u8;
                let (right, left) = ((rank + 1) % size, (rank + size - 1) % size);
                let got: Blob = if rank % 2 == 0 {
                    comm.send(&msg, right, 0);
                    comm.recv(left, 0)
                } else {
                    let got = comm.recv(left, 0);
                    comm.send(&msg, right, 0);
                    got
                };
                got.0[0] as usize
            })
            .unwrap_or_else(|e| panic!("{n} ranks: {e}"));
        let expected: Vec<usize> = (0..n).map(|r| (r + n - 1) % n).collect();
        assert_eq!(run.results, expected, "{n} ranks");
        // Even sizes: two phases. Odd sizes: the last even rank sends to rank 0, so its
        // own receive waits for a third transfer.
        let phases = if n % 2 == 0 { 2 } else { 3 };
        assert_eq!(run.time, Time(phases * t), "{n} ranks");
    }
}

// ---------------------------------------------------------------------------------------
// LogGP: send overhead o_s, receive overhead o_r, gap g, rendezvous handshake

/// Rank 0 sends messages of `sizes` bytes to rank 1 back to back; rank 1 receives them in
/// turn. Rank 0's clock after its sends must be `sender_done`; rank 1's clock after each
/// receive must be `received`.
#[track_caller]
fn check_loggp(link: Link, handshake_ns: u64, sizes: &[u64], sender_done: u64, received: &[u64]) {
    let p = Platform { handshake_ns, ..platform("loggp", 64 * 1024, 1, link.clone(), link) };
    let msgs: Vec<Blob> = sizes.iter().map(|&bytes| message(bytes)).collect();
    let run = World::new(2)
        .platform(p)
        .run(|comm| {
            if comm.rank() == 0 {
                for msg in &msgs {
                    comm.send(msg, 1, 0);
                }
                vec![comm.now().as_nanos()]
            } else {
                sizes
                    .iter()
                    .map(|_| {
                        let _: Blob = comm.recv(0, 0);
                        comm.now().as_nanos()
                    })
                    .collect()
            }
        })
        .unwrap();
    assert_eq!(run.results, vec![vec![sender_done], received.to_vec()]);
}

#[test]
fn send_overhead_delays_the_sender_and_the_message() {
    let l = Link { send_overhead_ns: 300, ..Link::default() };
    check_loggp(l.clone(), 0, &[8], 300, &[300 + 1_008]);
    // Two sends: the second leaves after the first's overhead.
    check_loggp(l, 0, &[8, 8], 600, &[1_308, 1_608]);
}

#[test]
fn receive_overhead_delays_only_the_receiver() {
    let l = Link { recv_overhead_ns: 200, ..Link::default() };
    check_loggp(l.clone(), 0, &[8], 0, &[1_008 + 200]);
    // The second message is there at 2008 ns, but the receiver is busy with the first
    // receive's overhead until 2200 ns: it receives from then.
    check_loggp(l, 0, &[1000, 8], 0, &[2_000 + 200, 2_200 + 200]);
}

#[test]
fn gap_spaces_the_injections_of_one_rank() {
    let l = Link { gap_ns: 2_000, ..Link::default() };
    check_loggp(l, 0, &[8; 4], 0, &[1_008, 3_008, 5_008, 7_008]);
    // A gap shorter than the wire time: the wire serialises the messages instead.
    let l = Link { gap_ns: 10, ..Link::default() };
    check_loggp(l, 0, &[1000; 4], 0, &[2_000, 3_000, 4_000, 5_000]);
}

#[test]
fn overheads_and_gap_add_up() {
    let l = Link { send_overhead_ns: 100, recv_overhead_ns: 50, gap_ns: 500, ..Link::default() };
    // Injections at 100, 600, 1100, 1600; arrivals 1008 ns later; + 50 ns to receive.
    check_loggp(l, 0, &[8; 4], 400, &[1_158, 1_658, 2_158, 2_658]);
}

#[test]
fn a_rendezvous_pays_the_send_overhead_and_the_handshake() {
    let mib = 1 << 20;
    let l = Link { send_overhead_ns: 300, recv_overhead_ns: 200, ..Link::default() };
    // The request to send is out at 300; the data leaves after the 700 ns handshake.
    let arrival = 300 + 700 + one_way(&Link::default(), mib);
    check_loggp(l, 700, &[mib], arrival, &[arrival + 200]);
}
