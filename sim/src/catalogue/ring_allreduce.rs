//! `ring-allreduce`: SMPI's classic benchmark workload. A token of `--bytes` bytes goes
//! `--laps` times around the ring of all ranks, then every rank takes part in
//! `--allreduces` MPI_Allreduce (SUM) of `--length` doubles. `bench/smpi/ring_allreduce.c`
//! is the same program in C for SimGrid SMPI; `cargo bench -p mpisim --bench smpi`
//! runs both on the same machine (`platforms/smpi-cluster.ron`).

use super::{Param, Params, Program};
use crate::codec::payload_of_size;
use crate::comm::Comm;
use serde::Serialize;
use serde_json::{json, Value};

/// The tag of the token's messages.
const TOKEN_TAG: crate::Tag = 1;

/// What one rank of `ring-allreduce` ends with: the same figures the C program prints, so
/// that runs on the simulator, on real MPI and on SMPI can be compared value for value.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct RingAllreduce {
    /// The token's counter as this rank last held it: every rank adds one as the token
    /// passes, so after `laps` laps rank 0 holds `laps · size` and rank `r > 0` holds
    /// `(laps − 1) · size + r + 1` (carried modulo 256^len in a token shorter than 8 bytes).
    pub token: u64,
    /// The sum of every element of every allreduce result (whole numbers, so exact in an
    /// `f64` whatever order an algorithm adds them in).
    pub sum: f64,
}

/// The token's counter: its first (up to) 8 bytes, little-endian, as the C program has it.
fn counter(token: &[u8]) -> u64 {
    let mut bytes = [0u8; 8];
    let n = token.len().min(8);
    bytes[..n].copy_from_slice(&token[..n]);
    u64::from_le_bytes(bytes)
}

fn set_counter(token: &mut [u8], value: u64) {
    let n = token.len().min(8);
    token[..n].copy_from_slice(&value.to_le_bytes()[..n]);
}

/// Runs the workload on this rank: `laps` laps of a `bytes`-byte token that rank 0 starts
/// (each rank receives it from its left neighbour and sends it to its right one, with
/// blocking calls, so the ring is safe at any size and with no buffering), then
/// `allreduces` allreduces of `length` doubles; the `i`-th allreduce sums `rank + k + i` in
/// element `k`.
pub fn ring_allreduce(comm: &Comm, laps: u64, bytes: u64, allreduces: u64, length: u64) -> RingAllreduce {
    let (rank, size) = (comm.rank(), comm.size());
    let (right, left) = ((rank + 1) % size, (rank + size - 1) % size);
    let mut token = payload_of_size(bytes);
    let mut held = 0;
    for _ in 0..laps {
        if rank == 0 {
            set_counter(&mut token, held + 1);
            comm.send(&token, right, TOKEN_TAG);
            token = comm.recv(left, TOKEN_TAG);
            held = counter(&token);
        } else {
            token = comm.recv(left, TOKEN_TAG);
            let next = counter(&token).wrapping_add(1);
            set_counter(&mut token, next);
            held = counter(&token);
            comm.send(&token, right, TOKEN_TAG);
        }
    }
    let mut sum = 0.0;
    for i in 0..allreduces {
        let values: Vec<f64> = (0..length).map(|k| (rank as u64 + k + i) as f64).collect();
        sum += comm.allreduce(&values, crate::op::SUM).iter().sum::<f64>();
    }
    RingAllreduce { token: held, sum }
}

pub(super) const PROGRAM: Program = Program {
    name: "ring-allreduce",
    summary: "SMPI's benchmark: a token ring, then allreduces of doubles",
    params: &[
        Param::count("laps", "100", "laps of the token around the ring"),
        // The C program passes sizes to MPI as an `int`.
        Param::bytes("bytes", "1KiB", "size of the token").range(0, i32::MAX as u64),
        Param::count("allreduces", "100", "MPI_Allreduce calls after the ring"),
        Param::count("length", "8", "doubles in each allreduce").range(0, i32::MAX as u64),
    ],
    min_ranks: 2,
    default_ranks: 8,
    run: |comm: &Comm, p: &Params| -> Value {
        let r = ring_allreduce(comm, p.number("laps"), p.number("bytes"), p.number("allreduces"), p.number("length"));
        json!(r)
    },
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::{Link, Platform};
    use crate::World;

    /// SMPI's cluster as `platforms/smpi-cluster.ron` has it: 100.128 µs, 125 MB/s.
    fn cluster() -> Platform {
        let link = Link { latency_ns: 100_128, bandwidth: 125_000_000, ..Link::default() };
        Platform { name: "smpi-cluster".into(), intra: link.clone(), inter: link, ..Platform::default() }
    }

    /// Runs the workload; checks each rank's result against the closed form and returns the
    /// run's (virtual time in ns, messages).
    #[track_caller]
    fn check(ranks: usize, laps: u64, bytes: u64, allreduces: u64, length: u64) -> (u64, u64) {
        let run = World::new(ranks)
            .platform(cluster())
            .run(|c| ring_allreduce(c, laps, bytes, allreduces, length))
            .unwrap_or_else(|e| panic!("ring-allreduce on {ranks} ranks failed: {e}"));
        let carried = payload_of_size(bytes).len();
        let (n, modulus) = (ranks as u64, if carried >= 8 { u128::MAX } else { 1u128 << (8 * carried) });
        let sum: u64 = (0..allreduces).map(|i| (0..length).map(|k| n * (n - 1) / 2 + n * (k + i)).sum::<u64>()).sum();
        for (r, got) in run.results.iter().enumerate() {
            let token = match (laps, r) {
                (0, _) => 0,
                (_, 0) => laps * n,
                _ => (laps - 1) * n + r as u64 + 1,
            };
            let token = (u128::from(token) % modulus) as u64;
            assert_eq!(*got, RingAllreduce { token, sum: sum as f64 }, "rank {r} of {ranks}");
        }
        (run.time.as_nanos(), run.stats.messages)
    }

    #[test]
    fn results_follow_the_closed_form() {
        for (ranks, laps, bytes, allreduces, length) in
            [(2, 1, 1024, 1, 8), (3, 4, 16, 2, 1), (8, 100, 1024, 100, 8), (5, 2, 9, 3, 0), (4, 0, 1024, 2, 3)]
        {
            check(ranks, laps, bytes, allreduces, length);
        }
    }

    #[test]
    fn a_short_token_carries_its_counter_modulo_its_bytes() {
        // 2 bytes on the wire: a one-byte vector, so the counter is carried modulo 256.
        check(4, 70, 2, 0, 8);
        check(3, 5, 1, 0, 8); // an empty vector: no counter at all
    }

    #[test]
    fn the_ring_is_serial_and_each_allreduce_is_lg_p_exchanges() {
        let hop = |bytes: u64| 100_128 + bytes * 8; // α + n·β at 125 MB/s: 8 ns a byte
                                                    // The ring alone: laps · p hops, one after another.
        assert_eq!(check(16, 3, 1024, 0, 8), (3 * 16 * hop(1024), 3 * 16));
        // Allreduces alone start together: lg p rounds of 64-byte exchanges each.
        assert_eq!(check(16, 0, 1024, 5, 8), (5 * 4 * hop(64), 5 * 4 * 16));
    }
}
