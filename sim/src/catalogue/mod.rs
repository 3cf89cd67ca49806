//! The program catalogue: the seed programs of the lecture material, one source of truth
//! each, shared by `examples/`, the `mpisim` command and the lessons.
//!
//! Each [`Program`] declares its parameters; [`Params`] holds their parsed values.

use crate::comm::Comm;
use crate::memory::{Demand, Footprint};
use serde_json::Value;

mod allgather;
mod alltoall;
mod amdahl;
mod barrier;
mod bcast_sum;
mod coll;
mod coll_order;
mod collectives_tour;
mod hello;
mod kmeans;
mod master_worker;
mod nonblocking;
mod p2p_tags;
mod parallel_map;
mod parallel_sum;
mod params;
mod persistent;
mod pingpong;
mod progress;
mod recv_recv;
mod reduce_ops;
mod ring;
mod ring_allreduce;
mod scatterv;
mod scatterv_blocks;
mod skip_collective;
mod task_farm;
mod wildcard_race;

pub use params::{parse_bytes, Param, ParamArg, ParamError, ParamKind, Params};
pub use ring::RingOrder;

/// A runnable program of the catalogue.
#[derive(Clone, Copy)]
pub struct Program {
    /// Name used on the command line.
    pub name: &'static str,
    /// One line on what it shows.
    pub summary: &'static str,
    /// Its parameters.
    pub params: &'static [Param],
    /// Fewest ranks it runs on.
    pub min_ranks: usize,
    /// Ranks used when none are given.
    pub default_ranks: usize,
    /// The program: runs on every rank, returns the rank's result.
    pub run: fn(&Comm, &Params) -> Value,
    /// What its data takes at its peak with these parameters on this many ranks, over all
    /// ranks: its buffers and messages in flight, with their copies (a send encodes its
    /// value, a receive decodes it), and the messages it sends. A run that cannot fit on
    /// the machine is refused before it starts (`World::demand`).
    pub memory: fn(&Params, usize) -> Footprint,
}

impl std::fmt::Debug for Program {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Program").field("name", &self.name).finish_non_exhaustive()
    }
}

impl Program {
    /// Parses `(name, value)` pairs into [`Params`], filling in defaults. Errors name the
    /// parameter and what it accepts.
    pub fn params<'a>(&self, given: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Params, ParamError> {
        Params::parse(self.name, self.params, given)
    }

    /// The program with its default parameters.
    pub fn defaults(&self) -> Params {
        self.params(std::iter::empty()).expect("catalogue defaults parse")
    }

    /// What the program holds with `params` at any number of ranks, for `World::demand`;
    /// the parameters that make it hold less when lowered (at `ranks` ranks) are named as
    /// what to lower in a refusal.
    pub fn demand(&self, params: &Params, ranks: usize) -> Demand {
        let memory = self.memory;
        let now = memory(params, ranks);
        let knobs = self
            .params
            .iter()
            .filter(|p| params.lowered(p.name).is_some_and(|lower| memory(&lower, ranks).bytes < now.bytes))
            .map(|p| format!("--{}", p.name))
            .collect();
        let params = params.clone();
        Demand::new(move |n| memory(&params, n), knobs).min_ranks(self.min_ranks)
    }
}

/// A program that holds nothing worth counting beyond its ranks' own stacks and state.
pub(crate) fn no_data(_: &Params, _: usize) -> Footprint {
    Footprint::NONE
}

/// ⌈lg n⌉: the rounds of a tree or doubling collective over `n` ranks.
pub(crate) fn rounds(n: usize) -> u64 {
    u64::from(n.max(1).next_power_of_two().trailing_zeros())
}

/// Every program, in the order `mpisim list` shows them.
pub fn programs() -> &'static [Program] {
    &[
        hello::PROGRAM,
        p2p_tags::PROGRAM,
        pingpong::PROGRAM,
        ring::PROGRAM,
        nonblocking::PROGRAM,
        persistent::PROGRAM,
        master_worker::PROGRAM,
        collectives_tour::PROGRAM,
        reduce_ops::PROGRAM,
        parallel_map::PROGRAM,
        parallel_sum::PROGRAM,
        kmeans::PROGRAM,
        scatterv::PROGRAM,
        barrier::PROGRAM,
        allgather::PROGRAM,
        alltoall::PROGRAM,
        coll::PROGRAM,
        recv_recv::PROGRAM,
        coll_order::PROGRAM,
        skip_collective::PROGRAM,
        wildcard_race::PROGRAM,
        progress::PROGRAM,
        amdahl::PROGRAM,
        bcast_sum::PROGRAM,
        task_farm::PROGRAM,
        scatterv_blocks::PROGRAM,
        ring_allreduce::PROGRAM,
    ]
}

/// A program by name.
pub fn find(name: &str) -> Option<&'static Program> {
    programs().iter().find(|p| p.name == name)
}

pub use allgather::allgather;
pub use alltoall::alltoall;
pub use amdahl::amdahl;
pub use barrier::barrier;
pub use bcast_sum::bcast_sum;
pub use coll::coll;
pub use coll_order::coll_order;
pub use collectives_tour::collectives_tour;
pub use hello::hello;
pub use kmeans::{kmeans, Clustering};
pub use master_worker::master_worker;
pub use nonblocking::nonblocking;
pub use p2p_tags::p2p_tags;
pub use parallel_map::parallel_map;
pub use parallel_sum::parallel_sum;
pub use persistent::persistent;
pub use pingpong::pingpong;
pub use progress::progress;
pub use recv_recv::recv_recv;
pub use reduce_ops::reduce_ops;
pub use ring::ring;
pub use ring_allreduce::{ring_allreduce, RingAllreduce};
pub use scatterv::scatterv;
pub use scatterv_blocks::{block_counts, scatterv_blocks};
pub use skip_collective::skip_collective;
pub use task_farm::{task_cost, task_farm, task_result};
pub use wildcard_race::wildcard_race;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_number_declares_its_range() {
        for p in programs() {
            for param in p.params.iter().filter(|q| matches!(q.kind, ParamKind::Count | ParamKind::Bytes)) {
                assert!(param.max < u64::MAX, "{} --{} declares no largest value", p.name, param.name);
            }
        }
    }

    /// Every value a declaration accepts runs without a rank panic: each number at its
    /// smallest, and at its largest with the program's other numbers at their smallest (a
    /// run that would not fit on this machine is refused before it starts, which is fine).
    #[test]
    fn every_accepted_value_runs_without_a_rank_panic() {
        for p in programs() {
            let numbers: Vec<&Param> = p.params.iter().filter(|q| q.is_number() && q.kind != ParamKind::Rank).collect();
            let mut runs: Vec<Vec<String>> = Vec::new();
            for q in &numbers {
                runs.push(vec![format!("--{}={}", q.name, q.min)]);
                let mut at_max = vec![format!("--{}={}", q.name, q.max)];
                at_max.extend(numbers.iter().filter(|o| o.name != q.name).map(|o| format!("--{}={}", o.name, o.min)));
                runs.push(at_max);
            }
            for q in p.params.iter().filter(|q| q.kind == ParamKind::Rank) {
                runs.push(vec![format!("--{}={}", q.name, p.default_ranks - 1)]);
            }
            for args in runs {
                let (sim, _) = crate::launch::simulate_catalogue(p, &args).unwrap_or_else(|e| panic!("{args:?}: {e}"));
                assert!(
                    !matches!(sim.outcome, Err(crate::SimError::RankFailed(_))),
                    "{} {args:?}: {}",
                    p.name,
                    sim.outcome.unwrap_err()
                );
            }
        }
    }

    #[test]
    fn bytes_parse_with_units() {
        assert_eq!(parse_bytes("4096"), Some(4096));
        assert_eq!(parse_bytes("64KiB"), Some(65_536));
        assert_eq!(parse_bytes("1M"), Some(1 << 20));
        assert_eq!(parse_bytes("1_048_576"), Some(1 << 20));
        assert_eq!(parse_bytes("lots"), None);
        assert_eq!(parse_bytes("5 parsecs"), None);
    }

    #[test]
    fn byte_units_are_iec_or_si_in_any_case() {
        let cases: &[(&str, Option<u64>)] = &[
            ("1mib", Some(1 << 20)),
            ("1 MiB", Some(1 << 20)),
            ("1MB", Some(1_000_000)),
            ("1mb", Some(1_000_000)),
            ("64KB", Some(64_000)),
            ("64kib", Some(65_536)),
            ("64k", Some(65_536)),
            ("64Ki", Some(65_536)),
            ("2GB", Some(2_000_000_000)),
            ("2GiB", Some(2 << 30)),
            ("1TB", Some(1_000_000_000_000)),
            ("1T", Some(1 << 40)),
            ("8B", Some(8)),
            ("8 b", Some(8)),
            ("0", Some(0)),
            ("1kk", None),
            ("1bk", None),
            ("1 MiBs", None),
            ("MiB", None),
            ("1.5MiB", None),
            ("20000000TB", None),
        ];
        for &(text, want) in cases {
            assert_eq!(parse_bytes(text), want, "{text}");
        }
    }

    #[test]
    fn every_default_parses_and_names_are_unique() {
        for (i, p) in programs().iter().enumerate() {
            p.defaults();
            assert!(programs()[..i].iter().all(|q| q.name != p.name), "{} twice", p.name);
            assert!(p.default_ranks >= p.min_ranks);
        }
    }

    #[test]
    fn bad_params_are_explained() {
        let ring = find("ring").unwrap();
        assert!(ring.params([("colour", "red")]).unwrap_err().to_string().contains("it takes --bytes, --order"));
        assert!(ring
            .params([("order", "sideways")])
            .unwrap_err()
            .to_string()
            .contains("naive, parity, sendrecv, nonblocking"));
        assert!(find("hello").unwrap().params([("x", "1")]).unwrap_err().to_string().contains("takes no parameter"));
        let amdahl = find("amdahl").unwrap();
        for bad in ["1.5", "-0.1", "NaN", "a tenth"] {
            let err = amdahl.params([("serial", bad)]).unwrap_err().to_string();
            assert!(err.contains("is not a fraction from 0 to 1"), "{bad}: {err}");
        }
        assert_eq!(amdahl.params([("serial", "0.25")]).unwrap().fraction("serial"), 0.25);
    }

    #[test]
    fn weak_scaling_sets_numbers_only() {
        let mut params = find("amdahl").unwrap().defaults();
        params.set_number("work", 4000).unwrap();
        assert_eq!(params.number("work"), 4000);
        assert!(params.set_number("serial", 2).unwrap_err().to_string().contains("--serial is not a number"));
        assert!(params.set_number("colour", 2).unwrap_err().to_string().contains("no parameter --colour"));
    }
}
