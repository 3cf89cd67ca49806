//! The program catalogue: the seed programs of the lecture material, one source of truth
//! each, shared by `examples/`, the `mpisim` command and the lessons.
//!
//! Each [`Program`] declares its parameters; [`Params`] holds their parsed values.

use crate::comm::Comm;
use serde_json::Value;
use std::collections::BTreeMap;

mod allgather;
mod alltoall;
mod barrier;
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
mod persistent;
mod pingpong;
mod progress;
mod recv_recv;
mod reduce_ops;
mod ring;
mod scatterv;
mod skip_collective;
mod wildcard_race;

pub use ring::RingOrder;

/// The kind of value a parameter takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamKind {
    /// A byte count: `4096`, `64KiB`, `1MiB`.
    Bytes,
    /// A whole number.
    Count,
    /// One of a fixed set of words.
    Choice(&'static [&'static str]),
}

/// A parameter of a catalogue program, given as `--NAME VALUE`.
#[derive(Clone, Copy, Debug)]
pub struct Param {
    /// Flag name without dashes.
    pub name: &'static str,
    /// What it means.
    pub help: &'static str,
    /// Its default value, as it would be typed.
    pub default: &'static str,
    /// Its kind.
    pub kind: ParamKind,
}

/// Parsed parameter values of one run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Params {
    values: BTreeMap<&'static str, ParamValue>,
}

#[derive(Clone, Debug, PartialEq)]
enum ParamValue {
    Number(u64),
    Word(&'static str),
}

impl Params {
    /// A numeric parameter (bytes or count). Panics if the program did not declare it.
    pub fn number(&self, name: &str) -> u64 {
        match self.values.get(name) {
            Some(ParamValue::Number(n)) => *n,
            other => panic!("parameter `{name}` is not a declared number (found {other:?})"),
        }
    }

    /// A choice parameter. Panics if the program did not declare it.
    pub fn word(&self, name: &str) -> &'static str {
        match self.values.get(name) {
            Some(ParamValue::Word(w)) => w,
            other => panic!("parameter `{name}` is not a declared choice (found {other:?})"),
        }
    }

    /// The values as `name=value` pairs, in name order.
    pub fn describe(&self) -> Vec<(String, String)> {
        self.values
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    ParamValue::Number(n) => n.to_string(),
                    ParamValue::Word(w) => w.to_string(),
                };
                (k.to_string(), v)
            })
            .collect()
    }
}

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
}

impl std::fmt::Debug for Program {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Program").field("name", &self.name).finish_non_exhaustive()
    }
}

impl Program {
    /// Parses `(name, value)` pairs into [`Params`], filling in defaults. Errors name the
    /// parameter and what it accepts.
    pub fn params<'a>(&self, given: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Params, String> {
        let mut params = Params::default();
        for p in self.params {
            params.values.insert(p.name, parse_value(self.name, p, p.default)?);
        }
        for (name, value) in given {
            let Some(p) = self.params.iter().find(|p| p.name == name) else {
                return Err(unknown_param(self, name));
            };
            params.values.insert(p.name, parse_value(self.name, p, value)?);
        }
        Ok(params)
    }

    /// The program with its default parameters.
    pub fn defaults(&self) -> Params {
        self.params(std::iter::empty()).expect("catalogue defaults parse")
    }
}

fn unknown_param(program: &Program, name: &str) -> String {
    let known: Vec<String> = program.params.iter().map(|p| format!("--{}", p.name)).collect();
    if known.is_empty() {
        format!("program `{}` takes no parameter, but --{name} was given", program.name)
    } else {
        format!("program `{}` has no parameter --{name}; it takes {}", program.name, known.join(", "))
    }
}

fn parse_value(program: &str, p: &Param, value: &str) -> Result<ParamValue, String> {
    match p.kind {
        ParamKind::Bytes => parse_bytes(value)
            .map(ParamValue::Number)
            .ok_or_else(|| format!("{program} --{}: `{value}` is not a byte count (try 4096, 64KiB, 1MiB)", p.name)),
        ParamKind::Count => value
            .parse::<u64>()
            .map(ParamValue::Number)
            .map_err(|_| format!("{program} --{}: `{value}` is not a whole number", p.name)),
        ParamKind::Choice(choices) => choices
            .iter()
            .find(|c| **c == value)
            .map(|c| ParamValue::Word(c))
            .ok_or_else(|| format!("{program} --{}: `{value}` is not one of {}", p.name, choices.join(", "))),
    }
}

/// Parses `4096`, `64K`, `64KiB`, `1M`, `1MiB`, `1G`, `1GiB` (binary multiples).
pub fn parse_bytes(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit() && c != '_').unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let n: u64 = digits.replace('_', "").parse().ok()?;
    let scale: u64 = match unit.trim() {
        "" | "B" => 1,
        "K" | "KiB" | "k" => 1 << 10,
        "M" | "MiB" => 1 << 20,
        "G" | "GiB" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(scale)
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
    ]
}

/// A program by name.
pub fn find(name: &str) -> Option<&'static Program> {
    programs().iter().find(|p| p.name == name)
}

pub use allgather::allgather;
pub use alltoall::alltoall;
pub use barrier::barrier;
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
pub use scatterv::scatterv;
pub use skip_collective::skip_collective;
pub use wildcard_race::wildcard_race;

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(ring.params([("colour", "red")]).unwrap_err().contains("it takes --bytes, --order"));
        assert!(ring.params([("order", "sideways")]).unwrap_err().contains("naive, parity, sendrecv, nonblocking"));
        assert!(find("hello").unwrap().params([("x", "1")]).unwrap_err().contains("takes no parameter"));
    }
}
