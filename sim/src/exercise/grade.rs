//! Grading: each check's verdict from the student's run (its `--format json` report and
//! trace) and, where the check compares, the reference's run of the same spec.

use super::{rounds, Exercise, ExerciseError, Expect, RunSpec};
use crate::trace::{EventKind, Trace};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::Duration;

/// What one run of the student's program showed.
#[derive(Clone, Debug)]
pub struct Observed {
    report: Report,
    trace: Option<Trace>,
}

/// The fields of a run's JSON report (`report::json`) that checks look at.
#[derive(Clone, Debug, Deserialize)]
struct Report {
    outcome: String,
    size: usize,
    #[serde(default)]
    virtual_time_ns: Option<u64>,
    messages: u64,
    ranks: Vec<RankResult>,
    #[serde(default)]
    warnings: Vec<Message>,
    #[serde(default)]
    deadlock: Option<Deadlock>,
    #[serde(default)]
    error: Option<Message>,
}

#[derive(Clone, Debug, Deserialize)]
struct RankResult {
    result: Value,
}

#[derive(Clone, Debug, Deserialize)]
struct Message {
    message: String,
}

#[derive(Clone, Debug, Deserialize)]
struct Deadlock {
    cycle: Vec<usize>,
    blocked: Vec<Blocked>,
}

#[derive(Clone, Debug, Deserialize)]
struct Blocked {
    rank: usize,
    mpi_call: String,
    location: String,
}

impl Observed {
    /// A run from its JSON report (the last line of the program's standard output that is
    /// one) and, if one was saved, its trace.
    pub fn from_output(stdout: &str, trace: Option<Trace>) -> Result<Observed, ObserveError> {
        let line = stdout.lines().rev().find(|l| l.trim_start().starts_with('{')).ok_or(ObserveError::NoReport)?;
        let report: Report = serde_json::from_str(line).map_err(ObserveError::PrintedReport)?;
        Ok(Observed { report, trace })
    }

    /// A run from its report as a JSON value, with its trace.
    pub fn from_report(report: &Value, trace: Option<Trace>) -> Result<Observed, ObserveError> {
        let report = Report::deserialize(report).map_err(ObserveError::Report)?;
        Ok(Observed { report, trace })
    }

    /// Runs a program in-process, as its binary would run under `spec` (see
    /// [`crate::launch::simulate_program`]): how tests grade a solution without building it.
    pub fn in_process<R: Serialize, F: Fn(&crate::Comm, &crate::launch::Params) -> R>(
        name: &str,
        declared: &[crate::launch::Param],
        program: F,
        spec: &RunSpec,
    ) -> Result<Observed, ObserveError> {
        let (sim, header) =
            crate::launch::simulate_program(name, declared, program, &spec.args()).map_err(ObserveError::Usage)?;
        let report = crate::report::json(&sim, &header);
        Observed::from_report(&report, Some(sim.trace))
    }

    fn completed(&self) -> bool {
        self.report.outcome == "completed"
    }

    /// Why the run did not complete, in one line: the deadlock's cycle and first blocked
    /// call, or the error.
    fn failure(&self) -> String {
        let r = &self.report;
        if let Some(d) = &r.deadlock {
            let cycle: Vec<String> = d.cycle.iter().map(usize::to_string).collect();
            let first = d.blocked.iter().find(|b| d.cycle.first() == Some(&b.rank)).or(d.blocked.first());
            let mut text = String::from("deadlock");
            if !cycle.is_empty() {
                text += &format!(", cycle {} → {}", cycle.join(" → "), cycle[0]);
            }
            if let Some(b) = first {
                text += &format!("; rank {} blocked in {} at {}", b.rank, b.mpi_call, b.location);
            }
            return text;
        }
        let message = r.error.as_ref().map_or(String::new(), |e| {
            let lines: Vec<&str> = e
                .message
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with("the other ranks were stopped"))
                .take(3)
                .collect();
            format!(": {}", lines.join("; "))
        });
        format!("{}{message}", r.outcome)
    }

    fn time(&self) -> u64 {
        self.report.virtual_time_ns.unwrap_or(0)
    }

    /// The calls the program made, with where it first made each (from the trace).
    fn calls(&self) -> Result<BTreeMap<crate::CallKind, String>, String> {
        let trace = self.trace.as_ref().ok_or("no trace of the run was saved")?;
        let mut calls = BTreeMap::new();
        for event in &trace.events {
            if let EventKind::Enter { call, site, .. } = &event.kind {
                calls.entry(*call).or_insert_with(|| format!("{site}"));
            }
        }
        Ok(calls)
    }
}

/// Why a run of the student's program shows nothing to grade: it did not start, did not
/// end by itself, failed outside MPI, or printed no report that reads. `Display` gives
/// what a failed check's "seen" line says after "the program did not run: ".
#[derive(Debug)]
#[non_exhaustive]
pub enum ObserveError {
    /// No line of its standard output is a JSON report.
    NoReport,
    /// Its last JSON line does not read as mpisim's report.
    PrintedReport(serde_json::Error),
    /// A report value does not read as mpisim's.
    Report(serde_json::Error),
    /// Its command line was refused (an in-process run).
    Usage(crate::launch::UsageError),
    /// A folder for the run's files could not be made.
    Scratch {
        /// The folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file for the run's output could not be written.
    Capture {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The program could not be started.
    Start {
        /// The program.
        program: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The program's end could not be waited for.
    Wait(std::io::Error),
    /// It ran longer than the grader allows and was stopped.
    TimedOut {
        /// The time it was given.
        after: Duration,
    },
    /// It printed more than the grader reads and was stopped.
    TooMuchOutput {
        /// The limit, in bytes.
        limit: u64,
    },
    /// It refused its command line (a usage error's exit code).
    Refused {
        /// The first lines of its standard error.
        stderr: String,
    },
    /// It exited with a code that no finished run has.
    Exited {
        /// The exit code.
        code: i32,
        /// The first lines of its standard error.
        stderr: String,
    },
    /// A signal killed it.
    Killed {
        /// How it ended.
        status: ExitStatus,
        /// The first lines of its standard error.
        stderr: String,
    },
    /// The trace it saved does not read.
    Trace(crate::trace::TraceError),
}

impl fmt::Display for ObserveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObserveError::NoReport => {
                f.write_str("it printed no JSON report; does its main call mpisim::launch::main_with_params?")
            }
            ObserveError::PrintedReport(e) => write!(f, "its JSON report does not read as mpisim's: {e}"),
            ObserveError::Report(e) => write!(f, "the report does not read as mpisim's: {e}"),
            ObserveError::Usage(e) => write!(f, "{e}"),
            ObserveError::Scratch { path, source } => write!(f, "cannot make {}: {source}", path.display()),
            ObserveError::Capture { path, source } => write!(f, "cannot write {}: {source}", path.display()),
            ObserveError::Start { program, source } => write!(f, "cannot start {}: {source}", program.display()),
            ObserveError::Wait(e) => write!(f, "cannot wait for it: {e}"),
            ObserveError::TimedOut { after } => write!(
                f,
                "it ran for more than {} s and was stopped (a loop that never calls MPI? `mpisim grade --timeout` \
                 gives it longer)",
                after.as_secs_f64()
            ),
            ObserveError::TooMuchOutput { limit } => {
                write!(f, "it printed more than {} MiB and was stopped", limit >> 20)
            }
            ObserveError::Refused { stderr } => f.write_str(stderr),
            ObserveError::Exited { code, stderr } => write!(f, "it exited with code {code}: {stderr}"),
            ObserveError::Killed { status, stderr } => write!(f, "it was killed by a signal ({status}): {stderr}"),
            ObserveError::Trace(e) => write!(f, "its trace does not read: {e}"),
        }
    }
}

impl std::error::Error for ObserveError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ObserveError::PrintedReport(e) | ObserveError::Report(e) => Some(e),
            ObserveError::Usage(e) => Some(e),
            ObserveError::Scratch { source, .. }
            | ObserveError::Capture { source, .. }
            | ObserveError::Start { source, .. }
            | ObserveError::Wait(source) => Some(source),
            ObserveError::Trace(e) => Some(e),
            _ => None,
        }
    }
}

/// One check's outcome.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Verdict {
    /// The check's name.
    pub check: String,
    /// What it checks.
    pub what: String,
    /// Whether the run showed what the check expects.
    pub passed: bool,
    /// What the run showed, in one line.
    pub seen: String,
    /// The check's hint (given when it failed).
    pub hint: Option<String>,
}

/// Every check's verdict, and the score.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Grade {
    /// The verdicts, in the order of the checks.
    pub verdicts: Vec<Verdict>,
    /// Checks passed.
    pub passed: usize,
    /// Checks in all.
    pub total: usize,
}

impl Exercise {
    /// Grades the student's program: `observe` makes each distinct run (once) and says what
    /// it showed, or why it could not run; the reference runs in-process. An error is the
    /// exercise's own (its reference does not complete), not the student's.
    pub fn grade(
        &self,
        observe: &mut dyn FnMut(&RunSpec) -> Result<Observed, ObserveError>,
    ) -> Result<Grade, ExerciseError> {
        let mut student: BTreeMap<&RunSpec, Result<Observed, ObserveError>> = BTreeMap::new();
        let mut references: BTreeMap<&RunSpec, Observed> = BTreeMap::new();
        let mut verdicts = Vec::new();
        for check in &self.checks {
            let spec = &check.run;
            let run = student.entry(spec).or_insert_with(|| observe(spec));
            let reference = match check.expect.needs_reference() {
                true if !references.contains_key(spec) => {
                    let observed = self.reference_run(spec)?;
                    Some(&*references.entry(spec).or_insert(observed))
                }
                true => references.get(spec),
                false => None,
            };
            let (passed, seen) = match run {
                Ok(run) => judge(&check.expect, spec, run, reference),
                Err(why) => (false, format!("the program did not run: {why}")),
            };
            let hint = (!passed).then(|| check.hint.clone());
            verdicts.push(Verdict { check: check.name.clone(), what: check.what.clone(), passed, seen, hint });
        }
        let passed = verdicts.iter().filter(|v| v.passed).count();
        Ok(Grade { total: verdicts.len(), passed, verdicts })
    }

    /// The reference's run of `spec`, which must complete.
    pub fn reference_run(&self, spec: &RunSpec) -> Result<Observed, ExerciseError> {
        let error = |message: String| ExerciseError { origin: self.origin.clone(), position: None, message };
        let (sim, header) = crate::launch::simulate_catalogue(self.reference_program(), &self.reference_args(spec))
            .map_err(|e| error(format!("the reference cannot run `{spec}`: {e}")))?;
        let observed =
            Observed::from_report(&crate::report::json(&sim, &header), None).map_err(|e| error(e.to_string()))?;
        if !observed.completed() {
            return Err(error(format!(
                "the reference `{}` does not complete with `{spec}`: {}",
                self.reference.program,
                observed.failure()
            )));
        }
        Ok(observed)
    }
}

/// Whether `run` shows what `expect` asks, and what it showed.
fn judge(expect: &Expect, spec: &RunSpec, run: &Observed, reference: Option<&Observed>) -> (bool, String) {
    // What a failed run shows of its calls is judged below; nothing else can be.
    let judged_on_calls = matches!(expect, Expect::NoCollectives | Expect::Uses(_));
    if !judged_on_calls && !run.completed() {
        return (false, run.failure());
    }
    let p = spec.ranks;
    match expect {
        Expect::Completes => (true, format!("completed in {}", crate::Time(run.time()))),
        Expect::NoWarnings => match run.report.warnings.as_slice() {
            [] => (true, "no warning".into()),
            [first, rest @ ..] => {
                let line = first.message.lines().next().unwrap_or_default();
                let more = if rest.is_empty() { String::new() } else { format!(" (and {} more)", rest.len()) };
                (false, format!("warning: {line}{more}"))
            }
        },
        Expect::SameResults | Expect::SameResultsOn(_) => {
            let reference = reference.expect("a comparison has the reference's run");
            let ranks: Vec<usize> = match expect {
                Expect::SameResultsOn(ranks) => ranks.clone(),
                _ => (0..reference.report.size).collect(),
            };
            if run.report.size != reference.report.size {
                return (false, format!("{} ranks ran, not {}", run.report.size, reference.report.size));
            }
            for &r in &ranks {
                let (got, want) = (&run.report.ranks[r].result, &reference.report.ranks[r].result);
                if got != want {
                    return (false, format!("rank {r} returned {}; it should return {}", brief(got), brief(want)));
                }
            }
            match ranks.as_slice() {
                [r] => (true, format!("rank {r} returned {}, as it should", brief(&run.report.ranks[*r].result))),
                _ => (true, format!("the results of ranks {} are right", list(&ranks))),
            }
        }
        Expect::TimeWithin(k) => {
            let reference = reference.expect("a comparison has the reference's run");
            let (t, t_ref) = (run.time(), reference.time());
            let ratio = if t_ref == 0 {
                if t == 0 {
                    1.0
                } else {
                    f64::INFINITY
                }
            } else {
                t as f64 / t_ref as f64
            };
            let seen = format!(
                "virtual time {}, {ratio:.2}× the reference's {} (at most {k}×)",
                crate::Time(t),
                crate::Time(t_ref)
            );
            (ratio <= *k, seen)
        }
        Expect::RoundsAtMost(bound) => match &run.trace {
            Some(trace) => {
                let n = rounds(trace);
                (n <= bound.at(p), format!("{n} round{} on {p} ranks, at most {}", s(n), bound.describe(p)))
            }
            None => (false, "no trace of the run was saved".into()),
        },
        Expect::MessagesAtMost(bound) => {
            let n = run.report.messages;
            (n <= bound.at(p), format!("{n} message{} on {p} ranks, at most {}", s(n), bound.describe(p)))
        }
        Expect::NoCollectives => match run.calls() {
            Ok(calls) => match calls.iter().find(|(call, _)| call.is_collective()) {
                Some((call, site)) => (false, format!("calls {} at {site}", call.mpi_name())),
                None if !run.completed() => (false, run.failure()),
                None => (true, "point-to-point calls only".into()),
            },
            Err(e) => (false, e),
        },
        Expect::Uses(wanted) => match run.calls() {
            Ok(calls) => {
                let missing: Vec<&str> =
                    wanted.iter().filter(|c| !calls.contains_key(c)).map(|c| c.mpi_name()).collect();
                let names: Vec<&str> = wanted.iter().map(|c| c.mpi_name()).collect();
                match missing.as_slice() {
                    [] => (true, format!("calls {}", names.join(", "))),
                    _ if !run.completed() => (false, run.failure()),
                    _ => (false, format!("never calls {}", missing.join(", "))),
                }
            }
            Err(e) => (false, e),
        },
    }
}

impl fmt::Display for Verdict {
    /// `PASS name: what (seen)`, or `FAIL name: what` with what was seen and the hint below.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.passed {
            return write!(f, "PASS {}: {} ({})", self.check, self.what, self.seen);
        }
        write!(f, "FAIL {}: {}\n     seen: {}", self.check, self.what, self.seen)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n     hint: {hint}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Grade {
    /// A line per check, then the score.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for verdict in &self.verdicts {
            writeln!(f, "{verdict}")?;
        }
        write!(f, "score: {}/{} checks passed", self.passed, self.total)
    }
}

fn s(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn list(ranks: &[usize]) -> String {
    match ranks {
        [] => String::new(),
        [first, last] => format!("{first} and {last}"),
        [first, .., last] if ranks.windows(2).all(|w| w[1] == w[0] + 1) => format!("{first} to {last}"),
        _ => ranks.iter().map(usize::to_string).collect::<Vec<_>>().join(", "),
    }
}

/// A result as JSON, cut to fit on a line.
fn brief(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(60) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_that_shows_nothing_is_a_typed_error() {
        let err = Observed::from_output("hello\nworld\n", None).unwrap_err();
        assert!(matches!(err, ObserveError::NoReport), "{err:?}");
        let err = Observed::from_output("{\"outcome\": 3}\n", None).unwrap_err();
        assert!(matches!(err, ObserveError::PrintedReport(_)), "{err:?}");
        assert!(err.to_string().starts_with("its JSON report does not read as mpisim's: "), "{err}");
        assert!(std::error::Error::source(&err).is_some());
        let err = Observed::from_report(&serde_json::json!([]), None).unwrap_err();
        assert!(matches!(err, ObserveError::Report(_)), "{err:?}");

        // A student's run that failed outside MPI fails every check it was for, saying why.
        let ring = super::super::find("ring").unwrap();
        let grade = ring
            .grade(&mut |_| Err(ObserveError::Exited { code: 101, stderr: "thread 'main' panicked".into() }))
            .unwrap();
        assert_eq!(grade.passed, 0);
        assert_eq!(grade.verdicts[0].seen, "the program did not run: it exited with code 101: thread 'main' panicked");
        let err = ObserveError::TimedOut { after: Duration::from_millis(1500) };
        assert!(err.to_string().starts_with("it ran for more than 1.5 s and was stopped"), "{err}");
    }
}
