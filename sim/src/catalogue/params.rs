//! A program's parameters: their declaration ([`Param`]: kind, default, range, help), their
//! values for one run ([`Params`]), and why a value given on the command line is refused
//! ([`ParamError`]). Catalogue programs and users' own programs declare theirs alike.

use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

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
    /// A rank of the run: from 0 to one less than the number of ranks.
    Rank,
}

/// A parameter of a program, given as `--NAME VALUE`: of a catalogue program, or of a
/// user's own program (`launch::main_with_params`). Declared with [`Param::bytes`],
/// [`Param::count`], [`Param::choice`], [`Param::fraction`] or [`Param::rank`], narrowed
/// with [`Param::range`].
#[derive(Clone, Copy, Debug, PartialEq)]
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

    /// A rank of the run: `--NAME 3`, refused unless below the number of ranks.
    pub const fn rank(name: &'static str, default: &'static str, help: &'static str) -> Param {
        Param { name, help, default, kind: ParamKind::Rank, min: 0, max: u64::MAX }
    }

    /// The same number parameter, accepting only `min..=max`.
    pub const fn range(self, min: u64, max: u64) -> Param {
        Param { min, max, ..self }
    }

    /// Whether it takes a number (a byte count, a count or a rank).
    pub fn is_number(&self) -> bool {
        matches!(self.kind, ParamKind::Bytes | ParamKind::Count | ParamKind::Rank)
    }

    /// Whether the declaration narrows the values a number may take.
    pub fn has_range(&self) -> bool {
        matches!(self.kind, ParamKind::Bytes | ParamKind::Count) && (self.min > 0 || self.max < u64::MAX)
    }

    /// A number as this parameter's kind reads it: `64 KiB` for bytes, `12` for a count.
    fn number_text(&self, n: u64) -> String {
        match self.kind {
            ParamKind::Bytes => crate::words::bytes(n),
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
            ParamKind::Rank => "RANK".to_string(),
        };
        format!("--{} {kind}", self.name)
    }

    /// What the parameter means, its default and its range: a help text's line.
    pub fn description(&self) -> String {
        let range = if self.has_range() {
            format!("; {}", self.range_text())
        } else if self.kind == ParamKind::Rank {
            "; a rank of the run".to_string()
        } else {
            String::new()
        };
        format!("{} (default {}{range})", self.help, self.default)
    }
}

/// Why a parameter's value is refused. Each names the program and the parameter, what
/// was given and what is accepted; `Display` gives the sentence a usage error prints.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ParamError {
    /// The value does not read as the parameter's kind.
    Invalid {
        /// The program.
        program: String,
        /// The parameter, without dashes.
        param: String,
        /// What was given.
        given: String,
        /// What is accepted: `a whole number`, `one of naive, parity`.
        expected: String,
    },
    /// The value reads, but is outside the declared range (or, for a rank, the run).
    OutOfRange {
        /// The program.
        program: String,
        /// The parameter, without dashes.
        param: String,
        /// What was given.
        given: String,
        /// The range accepted: `1 to 10`, `1 byte to 1 GiB`.
        accepted: String,
    },
    /// The parameter was given without its value.
    NeedsValue {
        /// The program.
        program: String,
        /// The parameter, without dashes.
        param: String,
    },
    /// The program declares no such parameter (and no run takes such a flag).
    Unknown {
        /// The program.
        program: String,
        /// The name given, without dashes.
        given: String,
        /// The parameters it declares.
        known: Vec<String>,
    },
    /// A declaration's default is refused: the declaration's mistake, not the user's.
    BadDefault {
        /// Why the default is refused.
        error: Box<ParamError>,
    },
    /// A parameter that is not a number was to be set to one (weak scaling).
    NotANumber {
        /// The parameter, without dashes.
        param: String,
    },
    /// A parameter that the program does not declare was to be set.
    NotDeclared {
        /// The parameter, without dashes.
        param: String,
    },
}

impl ParamError {
    /// The parameter the error is about, as typed (`--bytes`), if it names one.
    pub fn flag(&self) -> Option<String> {
        match self {
            ParamError::Invalid { param, .. }
            | ParamError::OutOfRange { param, .. }
            | ParamError::NeedsValue { param, .. }
            | ParamError::NotANumber { param }
            | ParamError::NotDeclared { param } => Some(format!("--{param}")),
            ParamError::Unknown { given, .. } => Some(format!("--{given}")),
            ParamError::BadDefault { error } => error.flag(),
        }
    }
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamError::Invalid { program, param, given, expected } => {
                write!(f, "{program} --{param}: `{given}` is not {expected}")
            }
            ParamError::OutOfRange { program, param, given, accepted } => {
                write!(f, "{program} --{param}: {given} is outside the range {accepted}")
            }
            ParamError::NeedsValue { program, param } => write!(f, "{program} --{param} needs a value"),
            ParamError::Unknown { program, given, known } if known.is_empty() => {
                write!(f, "program `{program}` takes no parameter, but --{given} was given")
            }
            ParamError::Unknown { program, given, known } => {
                let known: Vec<String> = known.iter().map(|k| format!("--{k}")).collect();
                write!(f, "program `{program}` has no parameter --{given}; it takes {}", known.join(", "))
            }
            ParamError::BadDefault { error } => {
                let param = error.flag().unwrap_or_default();
                write!(f, "{error} (the default in the declaration of {param} is wrong)")
            }
            ParamError::NotANumber { param } => write!(f, "--{param} is not a number (a count or a byte size)"),
            ParamError::NotDeclared { param } => write!(f, "there is no parameter --{param}"),
        }
    }
}

impl std::error::Error for ParamError {}

/// A `--NAME VALUE` (or `--NAME=VALUE`) that is not a flag of every run: a parameter of
/// the program, as the run flags' parser hands it over. `value` is `None` when the flag
/// came last or was followed by another flag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamArg {
    /// The name, without dashes.
    pub name: String,
    /// Its value, if one was given.
    pub value: Option<String>,
}

/// Parsed parameter values of one run, with the declarations they were checked against.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Params {
    program: String,
    declared: Vec<Param>,
    values: BTreeMap<&'static str, ParamValue>,
}

#[derive(Clone, Debug, PartialEq)]
enum ParamValue {
    Number(u64),
    Word(&'static str),
    Fraction(f64),
}

impl Params {
    /// A numeric parameter (bytes, count or rank). Panics if the program did not declare it.
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

    /// A choice parameter. Panics if the program did not declare it.
    pub fn word(&self, name: &str) -> &'static str {
        match self.values.get(name) {
            Some(ParamValue::Word(w)) => w,
            other => panic!("parameter `{name}` is not a declared choice (found {other:?})"),
        }
    }

    /// Sets numeric parameter `name` to `n`, as weak scaling grows one with the number of
    /// ranks; refused outside its declared range.
    pub fn set_number(&mut self, name: &str, n: u64) -> Result<(), ParamError> {
        let Some(p) = self.declared.iter().find(|p| p.name == name).copied() else {
            return Err(ParamError::NotDeclared { param: name.to_string() });
        };
        if !p.is_number() {
            return Err(ParamError::NotANumber { param: name.to_string() });
        }
        let value = check_range(&self.program, &p, n, &n.to_string())?;
        self.values.insert(p.name, value);
        Ok(())
    }

    /// The value of numeric parameter `name` set to its smallest, if that is below its
    /// value now: what a run would hold with it lowered.
    pub fn lowered(&self, name: &str) -> Option<Params> {
        let p = self.declared.iter().find(|p| p.name == name && p.is_number())?;
        let mut lower = self.clone();
        (self.number(name) > p.min).then(|| {
            lower.values.insert(p.name, ParamValue::Number(p.min));
            lower
        })
    }

    /// The declarations these values were checked against.
    pub fn declared(&self) -> &[Param] {
        &self.declared
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

    /// Parses `(name, value)` pairs given to `program` against the parameters it declares,
    /// filling in defaults. Errors name the program, the parameter and what it accepts; a
    /// default that does not parse is an error in the declaration.
    pub fn parse<'a>(
        program: &str,
        declared: &[Param],
        given: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Params, ParamError> {
        let mut params = Params { program: program.to_string(), declared: declared.to_vec(), ..Params::default() };
        for p in declared {
            let value =
                parse_value(program, p, p.default).map_err(|e| ParamError::BadDefault { error: Box::new(e) })?;
            params.values.insert(p.name, value);
        }
        for (name, value) in given {
            let Some(p) = declared.iter().find(|p| p.name == name) else {
                return Err(unknown(program, declared, name));
            };
            params.values.insert(p.name, parse_value(program, p, value)?);
        }
        Ok(params)
    }

    /// [`Params::parse`] of what the run flags' parser left over: a declared parameter
    /// without its value is refused as such, an undeclared one as unknown.
    pub fn from_args(program: &str, declared: &[Param], given: &[ParamArg]) -> Result<Params, ParamError> {
        let mut pairs = Vec::new();
        for arg in given {
            match (&arg.value, declared.iter().any(|p| p.name == arg.name)) {
                (_, false) => return Err(unknown(program, declared, &arg.name)),
                (None, true) => {
                    return Err(ParamError::NeedsValue { program: program.to_string(), param: arg.name.clone() })
                }
                (Some(value), true) => pairs.push((arg.name.as_str(), value.as_str())),
            }
        }
        Params::parse(program, declared, pairs)
    }

    /// Checks the rank parameters against a run of `ranks` ranks.
    pub fn fit_ranks(&self, ranks: usize) -> Result<(), ParamError> {
        for p in self.declared.iter().filter(|p| p.kind == ParamKind::Rank) {
            let rank = self.number(p.name);
            if rank >= ranks as u64 {
                return Err(ParamError::OutOfRange {
                    program: self.program.clone(),
                    param: p.name.to_string(),
                    given: rank.to_string(),
                    accepted: format!("0 to {}, the ranks of a run of {ranks}", ranks.saturating_sub(1)),
                });
            }
        }
        Ok(())
    }
}

fn unknown(program: &str, declared: &[Param], name: &str) -> ParamError {
    ParamError::Unknown {
        program: program.to_string(),
        given: name.to_string(),
        known: declared.iter().map(|p| p.name.to_string()).collect(),
    }
}

fn parse_value(program: &str, p: &Param, value: &str) -> Result<ParamValue, ParamError> {
    let invalid = |expected: String| ParamError::Invalid {
        program: program.to_string(),
        param: p.name.to_string(),
        given: value.to_string(),
        expected,
    };
    let number = match p.kind {
        ParamKind::Bytes => parse_bytes(value).ok_or_else(|| invalid("a byte count (try 4096, 64KiB, 1MiB)".into()))?,
        ParamKind::Count | ParamKind::Rank => value.parse::<u64>().map_err(|_| invalid("a whole number".into()))?,
        ParamKind::Choice(choices) => {
            return choices
                .iter()
                .find(|c| **c == value)
                .map(|c| ParamValue::Word(c))
                .ok_or_else(|| invalid(format!("one of {}", choices.join(", "))))
        }
        ParamKind::Fraction => {
            return value
                .parse::<f64>()
                .ok()
                .filter(|x| (0.0..=1.0).contains(x))
                .map(ParamValue::Fraction)
                .ok_or_else(|| invalid("a fraction from 0 to 1 (try 0.1)".into()))
        }
    };
    check_range(program, p, number, value)
}

fn check_range(program: &str, p: &Param, number: u64, given: &str) -> Result<ParamValue, ParamError> {
    if !(p.min..=p.max).contains(&number) {
        return Err(ParamError::OutOfRange {
            program: program.to_string(),
            param: p.name.to_string(),
            given: given.to_string(),
            accepted: p.range_text(),
        });
    }
    Ok(ParamValue::Number(number))
}

/// Parses a byte count: a number, optionally with a unit, in any case and with or without
/// a space: `4096`, `4096B`, `64KiB`, `1 MiB`, `1mib`, `64KB`, `1MB`, `1_048_576`.
///
/// Units: `KiB`, `MiB`, `GiB`, `TiB` are binary (IEC: 1024, 1024², …); `KB`, `MB`, `GB`,
/// `TB` are decimal (SI: 1000, 1000², …), as disks and networks count; a bare `K`, `M`,
/// `G`, `T` is binary, as MPI libraries' size settings read it (`64K` is 65536).
pub fn parse_bytes(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit() && c != '_').unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let n: u64 = digits.replace('_', "").parse().ok()?;
    let unit = unit.trim().to_ascii_lowercase();
    let (power, rest) = match unit.chars().next() {
        Some(c @ ('k' | 'm' | 'g' | 't')) => ("kmgt".find(c).map_or(0, |i| i as u32 + 1), &unit[1..]),
        _ => (0, unit.as_str()),
    };
    let base: u64 = match (power, rest) {
        (0, "" | "b") => 1,
        (0, _) => return None,
        (_, "" | "i" | "ib") => 1024,
        (_, "b") => 1000,
        _ => return None,
    };
    base.checked_pow(power).and_then(|scale| n.checked_mul(scale))
}
