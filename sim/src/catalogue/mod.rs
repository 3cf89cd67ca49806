//! The program catalogue: the seed programs of the lecture material, one source of truth
//! each, shared by `examples/`, the `mpisim` command and the lessons.
//!
//! Each [`Program`] declares its parameters; [`Params`] holds their parsed values.

use crate::comm::Comm;
use serde_json::Value;
use std::collections::BTreeMap;

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
    /// A fraction from 0 to 1: `0.1`, `0.25`.
    Fraction,
}

/// A parameter of a program, given as `--NAME VALUE`: of a catalogue program, or of a
/// user's own program (`launch::main_with_params`). Declared with [`Param::bytes`],
/// [`Param::count`] or [`Param::choice`], narrowed with [`Param::range`].
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
    /// The smallest value a number (bytes or count) may take; a smaller one is a usage error.
    pub min: u64,
    /// The largest value a number may take; a larger one is a usage error.
    pub max: u64,
}

impl Param {
    /// A byte count: `--NAME 4096`, `64KiB`, `1MiB`.
    pub const fn bytes(name: &'static str, default: &'static str, help: &'static str) -> Param {
        Param { name, help, default, kind: ParamKind::Bytes, min: 0, max: u64::MAX }
    }

    /// A whole number: `--NAME 12`.
    pub const fn count(name: &'static str, default: &'static str, help: &'static str) -> Param {
        Param { name, help, default, kind: ParamKind::Count, min: 0, max: u64::MAX }
    }

    /// One of `choices`: `--NAME WORD`.
    pub const fn choice(
        name: &'static str,
        choices: &'static [&'static str],
        default: &'static str,
        help: &'static str,
    ) -> Param {
        Param { name, help, default, kind: ParamKind::Choice(choices), min: 0, max: u64::MAX }
    }

    /// A fraction from 0 to 1: `--NAME 0.1`.
    pub const fn fraction(name: &'static str, default: &'static str, help: &'static str) -> Param {
        Param { name, help, default, kind: ParamKind::Fraction, min: 0, max: u64::MAX }
    }

    /// The same number parameter, accepting only `min..=max`.
    pub const fn range(self, min: u64, max: u64) -> Param {
        Param { min, max, ..self }
    }

    /// Whether the declaration narrows the values a number may take.
    fn has_range(&self) -> bool {
        !matches!(self.kind, ParamKind::Choice(_) | ParamKind::Fraction) && (self.min > 0 || self.max < u64::MAX)
    }

    /// A number as this parameter's kind reads it: `64 KiB` for bytes, `12` for a count.
    fn number_text(&self, n: u64) -> String {
        match self.kind {
            ParamKind::Bytes => bytes_text(n),
            _ => n.to_string(),
        }
    }

    /// `min to max`, in the parameter's units.
    fn range_text(&self) -> String {
        match (self.min, self.max) {
            (min, u64::MAX) => format!("at least {}", self.number_text(min)),
            (min, max) => format!("{} to {}", self.number_text(min), self.number_text(max)),
        }
    }

    /// The flag and its value's kind: `--bytes BYTES`, `--order naive|parity`.
    pub fn usage(&self) -> String {
        let kind = match self.kind {
            ParamKind::Bytes => "BYTES".to_string(),
            ParamKind::Count => "N".to_string(),
            ParamKind::Choice(c) => c.join("|"),
            ParamKind::Fraction => "FRACTION".to_string(),
        };
        format!("--{} {kind}", self.name)
    }

    /// What the parameter means, its default and its range: a help text's line.
    pub fn description(&self) -> String {
        let range = if self.has_range() { format!("; {}", self.range_text()) } else { String::new() };
        format!("{} (default {}{range})", self.help, self.default)
    }
}

/// A byte count in the largest binary unit that divides it: `8 B`, `64 KiB`, `1 GiB`.
fn bytes_text(n: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    match UNITS.iter().find(|(scale, _)| n > 0 && n % scale == 0) {
        Some((scale, unit)) => format!("{} {unit}", n / scale),
        None => format!("{n} B"),
    }
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
    Fraction(f64),
}

impl Params {
    /// A numeric parameter (bytes or count). Panics if the program did not declare it.
    pub fn number(&self, name: &str) -> u64 {
        match self.values.get(name) {
            Some(ParamValue::Number(n)) => *n,
            other => panic!("parameter `{name}` is not a declared number (found {other:?})"),
        }
    }

    /// A fraction parameter. Panics if the program did not declare it.
    pub fn fraction(&self, name: &str) -> f64 {
        match self.values.get(name) {
            Some(ParamValue::Fraction(x)) => *x,
            other => panic!("parameter `{name}` is not a declared fraction (found {other:?})"),
        }
    }

    /// Sets a numeric parameter (bytes or count) to `n`, as weak scaling grows one with
    /// the number of ranks; an error if the program has no such numeric parameter.
    pub fn set_number(&mut self, name: &str, n: u64) -> Result<(), String> {
        match self.values.get_mut(name) {
            Some(ParamValue::Number(value)) => {
                *value = n;
                Ok(())
            }
            Some(_) => Err(format!("--{name} is not a number (a count or a byte size)")),
            None => Err(format!("there is no parameter --{name}")),
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
                    ParamValue::Fraction(x) => x.to_string(),
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
        Params::parse(self.name, self.params, given)
    }

    /// The program with its default parameters.
    pub fn defaults(&self) -> Params {
        self.params(std::iter::empty()).expect("catalogue defaults parse")
    }
}

impl Params {
    /// Parses `(name, value)` pairs given to `program` against the parameters it declares,
    /// filling in defaults. Errors name the program, the parameter and what it accepts; a
    /// default that does not parse is an error in the declaration.
    pub fn parse<'a>(
        program: &str,
        declared: &[Param],
        given: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Params, String> {
        let mut params = Params::default();
        for p in declared {
            let value = parse_value(program, p, p.default)
                .map_err(|e| format!("{e} (the default in the declaration of --{} is wrong)", p.name))?;
            params.values.insert(p.name, value);
        }
        for (name, value) in given {
            let Some(p) = declared.iter().find(|p| p.name == name) else {
                return Err(unknown_param(program, declared, name));
            };
            params.values.insert(p.name, parse_value(program, p, value)?);
        }
        Ok(params)
    }
}

fn unknown_param(program: &str, declared: &[Param], name: &str) -> String {
    let known: Vec<String> = declared.iter().map(|p| format!("--{}", p.name)).collect();
    if known.is_empty() {
        format!("program `{program}` takes no parameter, but --{name} was given")
    } else {
        format!("program `{program}` has no parameter --{name}; it takes {}", known.join(", "))
    }
}

fn parse_value(program: &str, p: &Param, value: &str) -> Result<ParamValue, String> {
    let number = match p.kind {
        ParamKind::Bytes => parse_bytes(value)
            .ok_or_else(|| format!("{program} --{}: `{value}` is not a byte count (try 4096, 64KiB, 1MiB)", p.name))?,
        ParamKind::Count => {
            value.parse::<u64>().map_err(|_| format!("{program} --{}: `{value}` is not a whole number", p.name))?
        }
        ParamKind::Choice(choices) => {
            return choices
                .iter()
                .find(|c| **c == value)
                .map(|c| ParamValue::Word(c))
                .ok_or_else(|| format!("{program} --{}: `{value}` is not one of {}", p.name, choices.join(", ")))
        }
        ParamKind::Fraction => {
            return value
                .parse::<f64>()
                .ok()
                .filter(|x| (0.0..=1.0).contains(x))
                .map(ParamValue::Fraction)
                .ok_or_else(|| format!("{program} --{}: `{value}` is not a fraction from 0 to 1 (try 0.1)", p.name))
        }
    };
    if !(p.min..=p.max).contains(&number) {
        return Err(format!("{program} --{}: {value} is outside the range {}", p.name, p.range_text()));
    }
    Ok(ParamValue::Number(number))
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
        let amdahl = find("amdahl").unwrap();
        for bad in ["1.5", "-0.1", "NaN", "a tenth"] {
            let err = amdahl.params([("serial", bad)]).unwrap_err();
            assert!(err.contains("is not a fraction from 0 to 1"), "{bad}: {err}");
        }
        assert_eq!(amdahl.params([("serial", "0.25")]).unwrap().fraction("serial"), 0.25);
    }

    #[test]
    fn weak_scaling_sets_numbers_only() {
        let mut params = find("amdahl").unwrap().defaults();
        params.set_number("work", 4000).unwrap();
        assert_eq!(params.number("work"), 4000);
        assert!(params.set_number("serial", 2).unwrap_err().contains("--serial is not a number"));
        assert!(params.set_number("colour", 2).unwrap_err().contains("no parameter --colour"));
    }
}
