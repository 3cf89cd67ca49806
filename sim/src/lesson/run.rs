//! A step's run: which catalogue program, with which parameters, ranks and platform, as
//! the flags of `mpisim run` say it (so a lesson's run and a command line are one thing),
//! and the run itself with its trace indexed.

use crate::catalogue::{self, Params, Program};
use crate::launch::{Format, RunOptions, TraceFormat};
use crate::report::RunHeader;
use crate::timeline::Timeline;
use crate::world::Simulation;
use serde::Deserialize;
use std::collections::BTreeMap;

/// What a step runs. In a lesson file:
/// `Run(program: "ring", ranks: 4, params: {"bytes": "1MiB"}, platform: "openmpi",
/// eager_limit: 0, strict: true, algorithms: {"bcast": "binomial"})`; everything but the
/// program may be left out.
#[derive(Clone, Debug, Deserialize)]
#[serde(try_from = "RawRun")]
pub struct RunSpec {
    program: &'static Program,
    /// The flags after the program's name, as `mpisim run` takes them.
    flags: Vec<String>,
    opts: RunOptions,
    params: Params,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename = "Run")]
struct RawRun {
    program: String,
    #[serde(default)]
    ranks: Option<usize>,
    #[serde(default)]
    params: BTreeMap<String, Word>,
    #[serde(default)]
    platform: Option<String>,
    #[serde(default)]
    eager_limit: Option<Word>,
    #[serde(default)]
    strict: bool,
    #[serde(default)]
    algorithms: BTreeMap<String, String>,
}

/// A value written as a number or as a word (`8`, `"1MiB"`, `"parity"`).
#[derive(Deserialize)]
#[serde(untagged)]
enum Word {
    Number(u64),
    Text(String),
}

impl Word {
    fn text(&self) -> String {
        match self {
            Word::Number(n) => n.to_string(),
            Word::Text(t) => t.clone(),
        }
    }
}

impl TryFrom<RawRun> for RunSpec {
    type Error = String;

    fn try_from(raw: RawRun) -> Result<RunSpec, String> {
        let program = catalogue::find(&raw.program).ok_or_else(|| {
            let names: Vec<&str> = catalogue::programs().iter().map(|p| p.name).collect();
            format!("unknown program `{}`; the catalogue has {}", raw.program, names.join(", "))
        })?;
        let mut flags = Vec::new();
        if let Some(n) = raw.ranks {
            flags.extend(["-n".to_string(), n.to_string()]);
        }
        for (name, value) in &raw.params {
            flags.extend([format!("--{name}"), value.text()]);
        }
        if let Some(p) = &raw.platform {
            flags.extend(["--platform".to_string(), p.clone()]);
        }
        if let Some(limit) = &raw.eager_limit {
            flags.extend(["--eager-limit".to_string(), limit.text()]);
        }
        if raw.strict {
            flags.push("--strict".into());
        }
        for (coll, alg) in &raw.algorithms {
            flags.extend(["--algorithm".to_string(), format!("{coll}={alg}")]);
        }
        RunSpec::new(program, flags)
    }
}

impl RunSpec {
    /// The run of `program` with `flags` (those of `mpisim run`, less the ones that do not
    /// belong in a lesson: output, traces, viewers, exploration, real MPI).
    pub fn new(program: &'static Program, flags: Vec<String>) -> Result<RunSpec, String> {
        let (mut opts, rest) = RunOptions::parse(&flags)?;
        let unfit = [
            (opts.format != Format::Text, "--format"),
            (opts.trace.is_some() || opts.trace_format != TraceFormat::Json, "--trace"),
            (opts.tui || opts.mouse, "--tui"),
            (opts.dot.is_some(), "--dot"),
            (opts.explore.is_some() || flags.iter().any(|f| f == "--replay"), "--explore"),
            (opts.real || opts.launcher.is_some() || opts.timeout.is_some(), "--real"),
        ];
        if let Some((_, flag)) = unfit.iter().find(|(bad, _)| *bad) {
            return Err(format!("{flag} does not belong in a lesson's run; lessons show their runs themselves"));
        }
        // A lesson's run is the same wherever it is read: the environment's MPISIM_SEED
        // does not apply, only a `--seed` of the lesson.
        opts.replay = None;
        opts.seed = seed_flag(&flags)?;
        opts.record_trace = true;
        let params = program.params(rest.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
        if let Some(n) = opts.ranks.filter(|&n| n < program.min_ranks) {
            return Err(format!(
                "program `{}` needs at least {} ranks; the run has {n}",
                program.name, program.min_ranks
            ));
        }
        const MAX_RANKS: usize = 1024;
        if opts.ranks.unwrap_or(program.default_ranks) > MAX_RANKS {
            return Err(format!("a lesson's run has at most {MAX_RANKS} ranks, to stay quick to show"));
        }
        Ok(RunSpec { program, flags, opts, params })
    }

    /// This run with `text`'s flags changed or added (`--bytes 1MiB -n 8`): what a student
    /// types to re-run a step. A flag given again replaces the earlier one.
    pub fn with_flags(&self, text: &str) -> Result<RunSpec, String> {
        let added: Vec<String> = text.split_whitespace().map(String::from).collect();
        let mut flags = Vec::new();
        let mut it = self.flags.iter().peekable();
        while let Some(flag) = it.next() {
            let takes_value = flag != "--strict";
            let value = if takes_value { it.next().cloned() } else { None };
            if !mentions(&added, flag) {
                flags.push(flag.clone());
                flags.extend(value);
            }
        }
        if added.iter().any(|f| f == "--no-strict") {
            flags.retain(|f| f != "--strict");
        }
        flags.extend(added.into_iter().filter(|f| f != "--no-strict"));
        RunSpec::new(self.program, flags)
    }

    /// The program it runs.
    pub fn program(&self) -> &'static Program {
        self.program
    }

    /// The number of ranks.
    pub fn ranks(&self) -> usize {
        self.opts.ranks.unwrap_or(self.program.default_ranks)
    }

    /// The program's parameters, defaults filled in.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// The flags, as `mpisim run PROGRAM` takes them.
    pub fn flags(&self) -> &[String] {
        &self.flags
    }

    /// The run as a command line after `mpisim run`: `ring -n 4 --bytes 1MiB`.
    pub fn command(&self) -> String {
        std::iter::once(self.program.name.to_string()).chain(self.flags.iter().cloned()).collect::<Vec<_>>().join(" ")
    }

    /// Runs it, recording the trace and checking for a buffering hazard as `mpisim run`
    /// does.
    pub fn run(&self) -> StepRun {
        let mut header =
            RunHeader { program: self.program.name.to_string(), params: self.params.describe(), ..Default::default() };
        let program = self.program;
        let params = &self.params;
        let sim = self.opts.simulate(program.default_ranks, &mut header, |comm| (program.run)(comm, params));
        let timeline = Timeline::new(&sim.trace);
        StepRun { spec: self.clone(), sim, timeline, header }
    }
}

/// Whether `added` gives `flag` again (`-n` and `--ranks` are one flag).
fn mentions(added: &[String], flag: &str) -> bool {
    let same = |a: &str| {
        let a = a.split_once('=').map_or(a, |(f, _)| f);
        a == flag || (matches!(a, "-n" | "--ranks" | "-np") && matches!(flag, "-n" | "--ranks" | "-np"))
    };
    flag.starts_with('-') && added.iter().any(|a| same(a))
}

fn seed_flag(flags: &[String]) -> Result<u64, String> {
    match flags.iter().position(|f| f == "--seed") {
        Some(i) => flags.get(i + 1).and_then(|s| s.parse().ok()).ok_or_else(|| "--seed needs a whole number".into()),
        None => Ok(0),
    }
}

/// A step's run: the simulation, its trace indexed, and the header its report prints.
#[derive(Debug)]
pub struct StepRun {
    /// What ran.
    pub spec: RunSpec,
    /// The run.
    pub sim: Simulation<serde_json::Value>,
    /// Its trace, indexed.
    pub timeline: Timeline,
    /// What its report says about it.
    pub header: RunHeader,
}

impl StepRun {
    /// The run's report, as `mpisim run` prints it.
    pub fn report(&self) -> String {
        crate::report::text(&self.sim, &self.header)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(flags: &str) -> Result<RunSpec, String> {
        RunSpec::new(catalogue::find("ring").unwrap(), flags.split_whitespace().map(String::from).collect())
    }

    #[test]
    fn flags_change_and_add() {
        let spec = ring("-n 4 --bytes 8").unwrap();
        assert_eq!(spec.with_flags("--bytes 1MiB").unwrap().command(), "ring -n 4 --bytes 1MiB");
        assert_eq!(spec.with_flags("--ranks 8 --strict").unwrap().command(), "ring --bytes 8 --ranks 8 --strict");
        let strict = spec.with_flags("--strict").unwrap();
        assert_eq!(strict.with_flags("--no-strict").unwrap().command(), "ring -n 4 --bytes 8");
        assert_eq!(spec.with_flags("--order=parity").unwrap().params().word("order"), "parity");
    }

    #[test]
    fn bad_flags_are_explained() {
        let spec = ring("-n 4").unwrap();
        let cases = [
            ("--colour red", "has no parameter --colour"),
            ("-n 1", "needs at least 2 ranks"),
            ("-n 5000", "at most 1024 ranks"),
            ("--tui", "does not belong in a lesson"),
            ("--trace t.json", "does not belong in a lesson"),
            ("--bytes lots", "is not a byte count"),
            ("--platform mars", "unknown platform `mars`"),
        ];
        for (flags, want) in cases {
            let err = spec.with_flags(flags).unwrap_err();
            assert!(err.contains(want), "{flags}: {err}");
        }
    }

    #[test]
    fn runs_record_the_trace_and_the_hazard() {
        let run = ring("-n 4 --bytes 8").unwrap().run();
        assert!(run.sim.outcome.is_ok());
        assert_eq!(run.timeline.messages.len(), 4);
        assert!(run.report().contains("buffering hazard"), "{}", run.report());
    }
}
