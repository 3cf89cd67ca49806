//! Determinism: same program, platform and seed give a byte-identical trace; traces save
//! and load; a trace of another schema is refused with a clear error.

use mpisim::trace::TRACE_SCHEMA;
use mpisim::*;
use proptest::prelude::*;
use std::time::Duration;

/// SplitMix64 from the rank's seed: the program's only source of randomness.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A small program whose sizes, compute times and completion styles come from
/// `comm.seed()`: each round, an exchange with a shifting partner (isend and a wildcard
/// irecv, completed by waitall or a waitany loop), then a gather at rank 0 with wildcard
/// receives (whose order is the arrival order), and now and then an iprobe and a print.
/// Returns what the rank received, in order.
fn program(comm: &Comm, rounds: u32, max_bytes: u64) -> Vec<u64> {
    let mut rng = Rng(comm.seed());
    let (rank, size) = (comm.rank(), comm.size());
    let mut log = Vec::new();
    for round in 0..rounds {
        let tag = round as Tag;
        let shift = 1 + round as usize % (size - 1);
        let bytes = 1 + rng.below(max_bytes);
        let mut reqs = vec![
            comm.irecv(ANY_SOURCE, tag),
            comm.isend(&(rank as u64, payload_of_size(bytes)), (rank + shift) % size, tag),
        ];
        comm.compute(Duration::from_nanos(rng.below(5_000)));
        if rng.below(2) == 0 {
            comm.waitall(&mut reqs);
        } else {
            while let Some((index, _)) = comm.waitany(&mut reqs) {
                log.push(index as u64);
            }
        }
        let (from, pad): (u64, Vec<u8>) = reqs[0].value();
        log.extend([from, pad.len() as u64]);

        let gather = 1_000 + tag;
        if rank == 0 {
            for _ in 1..size {
                let ((from, pad), status): ((u64, Vec<u8>), Status) = comm.recv_status(ANY_SOURCE, gather);
                assert_eq!(from as usize, status.source);
                log.extend([from, pad.len() as u64]);
            }
            comm.print(format!("round {round} gathered at {}", comm.now()));
        } else {
            comm.compute(Duration::from_nanos(rng.below(3_000)));
            comm.send(&(rank as u64, payload_of_size(1 + rng.below(max_bytes))), 0, gather);
        }
        if rng.below(4) == 0 {
            if let Some(s) = comm.iprobe(ANY_SOURCE, ANY_TAG) {
                comm.print(format!("round {round}: a message from {} with tag {} is waiting", s.source, s.tag));
            }
        }
    }
    log
}

fn world(ranks: usize, seed: u64, platform: &str, strict: bool) -> World {
    World::new(ranks).seed(seed).platform(Platform::preset(platform).expect("a preset")).strict(strict)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn same_inputs_give_a_byte_identical_trace(
        ranks in 2usize..=6,
        rounds in 1u32..=4,
        max_bytes in prop::sample::select(vec![16u64, 3_000, 20_000]),
        seed in any::<u64>(),
        platform in prop::sample::select(vec!["default", "openmpi", "zero", "infinite"]),
        strict in any::<bool>(),
    ) {
        let w = world(ranks, seed, platform, strict);
        let first = w.run(|c| program(c, rounds, max_bytes)).unwrap_or_else(|e| panic!("{e}"));
        let second = w.run(|c| program(c, rounds, max_bytes)).unwrap_or_else(|e| panic!("{e}"));
        let json = first.trace.to_json();
        prop_assert_eq!(&json, &second.trace.to_json());
        prop_assert_eq!(&first.results, &second.results);
        prop_assert_eq!(&first.output, &second.output);
        prop_assert_eq!(first.time, second.time);
        prop_assert_eq!(first.stats, second.stats);
        prop_assert_eq!(&first.warnings, &second.warnings);
        prop_assert!(first.warnings.is_empty(), "{:?}", first.warnings);

        // The trace saves and loads to the same value and the same text.
        let loaded = Trace::from_json(&json).unwrap_or_else(|e| panic!("{e}"));
        prop_assert_eq!(&loaded, &first.trace);
        prop_assert_eq!(loaded.to_json(), json);
        prop_assert_eq!(loaded.seed, seed);
        prop_assert_eq!(loaded.ranks, ranks);

        // Recording the trace does not change the run.
        let quiet = w.clone().record_trace(false).run(|c| program(c, rounds, max_bytes)).unwrap();
        prop_assert_eq!(&quiet.results, &first.results);
        prop_assert_eq!(&quiet.output, &first.output);
        prop_assert_eq!(quiet.time, first.time);
        prop_assert!(quiet.trace.events.is_empty());
    }
}

#[test]
fn the_seed_changes_the_run() {
    // Not vacuous: the program's sizes and times really come from the seed.
    let run = |seed| world(4, seed, "openmpi", false).run(|c| program(c, 3, 20_000)).unwrap();
    let (a, b) = (run(1), run(2));
    assert_ne!(a.trace.events, b.trace.events);
    assert_ne!(a.results, b.results);
    assert_eq!(a.trace.events, run(1).trace.events);
}

fn sample_trace() -> Trace {
    world(3, 7, "default", false).run(|c| program(c, 2, 3_000)).unwrap().trace
}

#[test]
fn a_trace_round_trips_through_json() {
    let trace = sample_trace();
    assert!(!trace.events.is_empty());
    let json = trace.to_json();
    let loaded = Trace::from_json(&json).unwrap();
    assert_eq!(loaded, trace);
    assert_eq!(loaded.schema, TRACE_SCHEMA);
    assert_eq!(loaded.to_json(), json);
}

#[test]
fn a_trace_of_another_schema_is_refused_clearly() {
    let mut value: serde_json::Value = serde_json::from_str(&sample_trace().to_json()).unwrap();
    for schema in [0, TRACE_SCHEMA + 1, 999] {
        value["schema"] = serde_json::json!(schema);
        let err = Trace::from_json(&value.to_string()).unwrap_err().to_string();
        assert!(err.contains(&format!("trace schema {schema} is not supported")), "{err}");
        assert!(err.contains(&format!("reads schema {TRACE_SCHEMA}")), "{err}");
    }
}

#[test]
fn text_that_is_not_a_trace_is_refused_clearly() {
    let err = Trace::from_json("{\"ranks\": 3}").unwrap_err().to_string();
    assert!(err.starts_with("not an mpisim trace"), "{err}");
    let err = Trace::from_json("not json").unwrap_err().to_string();
    assert!(err.starts_with("not an mpisim trace"), "{err}");
    let broken = format!("{{\"schema\": {TRACE_SCHEMA}, \"ranks\": \"three\"}}");
    let err = Trace::from_json(&broken).unwrap_err().to_string();
    assert!(err.starts_with("malformed trace"), "{err}");
}
