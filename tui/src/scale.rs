//! `mpisim scale PROGRAM -n LIST`: a catalogue program (or an mpi4py script) at each
//! number of ranks, its speedup against Amdahl's law and the reasons for lost time, as a table with a chart,
//! JSON, CSV, an SVG plot or a screen of the terminal UI.
//!
//! The flags of the sweep are parsed here (clap, over the command's own arguments); the
//! rest are the flags of a run and the program's parameters, which `launch::RunOptions`
//! and the catalogue parse as for `mpisim run`. The figures come from
//! [`mpisim::speedup`]; this module only runs the sweep and tells it.

use crate::theme::Theme;
use crate::view::speedup::{fit_line, number, Curves, Speedup};
use clap::{CommandFactory, Parser, ValueEnum};
use mpisim::catalogue::{self, ParamKind, Params, Program};
use mpisim::launch::{self, RunOptions};
use mpisim::python::{Script, ScriptArgs};
use mpisim::report::{EXIT_COMPLETED, EXIT_USAGE};
use mpisim::speedup::{self, Analysis, Failure, Point, Real, Row, Scaling};
use mpisim::Time;
use serde_json::{json, Value};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::Command;

/// The flags of `mpisim scale` itself.
#[derive(Parser, Debug)]
#[command(
    name = "mpisim scale",
    about = "Run a catalogue program or an mpi4py script at each number of ranks: speedup against Amdahl's law, and \
             why time is lost",
    after_help = "The program's parameters (--PARAM VALUE) and these flags of `mpisim run` are taken as it takes \
                  them: --platform, --eager-limit, --strict, --seed, --algorithm COLL=NAME, --replay; for --real also \
                  --launcher, --timeout and -- ARGS (`mpisim help` explains them). Each size runs with the trace off.\n\n\
                  A PROGRAM ending in .py is an mpi4py script: it takes --python PATH and --measure, its own arguments \
                  go after --, and --real runs it with mpiexec and the real mpi4py.\n\n\
                  Exit code: 0 when every size completed; else the worst failure's, as `mpisim run` gives it (2 a size \
                  that cannot run, 3 a deadlock, 4 a program error); 2 for a usage error.",
    disable_version_flag = true
)]
struct Flags {
    /// The catalogue program (`mpisim list` shows them), or an mpi4py script (`.py`).
    program: String,
    /// The numbers of ranks: a list `1,2,4,8`, a range `1..64` (the powers of two from 1
    /// to 64), or both `1..16,24,32`; increasing.
    #[arg(short = 'n', long = "ranks", value_name = "LIST")]
    sizes: String,
    /// Weak scaling: this numeric parameter grows in proportion to N (its value is the
    /// one at the first size).
    #[arg(long, value_name = "PARAM")]
    weak: Option<String>,
    /// Output: a table with a chart, one JSON object, or CSV (one line per N).
    #[arg(long, value_enum, default_value_t = Output::Text)]
    format: Output,
    /// Also write a plot: speedup with the ideal line and the fitted law, and
    /// efficiencies, against N on a log scale.
    #[arg(long, value_name = "FILE")]
    svg: Option<PathBuf>,
    /// Show the chart in the terminal UI, then print the report.
    #[arg(long)]
    tui: bool,
    /// Also run each size on real MPI (needs the `mpi` feature): measured times beside
    /// the simulated ones. Predict with a calibrated platform (`mpisim calibrate`).
    #[arg(long)]
    real: bool,
    /// Runs of each size on real MPI; the median counts.
    #[arg(long, value_name = "K", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    repeat: u32,
}

/// How the report is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Output {
    Text,
    Json,
    Csv,
}

/// A sweep as the command line asks for it.
struct Sweep {
    flags: Flags,
    subject: Subject,
    sizes: Vec<usize>,
    opts: RunOptions,
    params: Params,
    /// The run flags as given (program parameters left out), for the real runs.
    run_args: Vec<String>,
}

/// What a sweep runs.
enum Subject {
    Program(&'static Program),
    Script(Script),
}

impl Subject {
    /// How the report names it: the program's name, or the script and its arguments.
    fn name(&self) -> String {
        match self {
            Subject::Program(p) => p.name.to_string(),
            Subject::Script(s) => s.title(),
        }
    }

    /// Why it cannot run on `ranks` ranks, if it cannot.
    fn too_few(&self, ranks: usize) -> Option<String> {
        match self {
            Subject::Program(p) if ranks < p.min_ranks => {
                Some(format!("{} needs at least {} ranks", p.name, p.min_ranks))
            }
            _ => None,
        }
    }
}

/// `mpisim scale ARGS…` on standard output and error; returns the exit code.
pub fn main(args: &[String]) -> i32 {
    run(args, &mut std::io::stdout().lock(), &mut std::io::stderr())
}

/// `mpisim scale ARGS…` writing its report to `out` and errors to `err`; returns the exit
/// code: 0 when every size completed, else the worst failure's (2 a size that cannot
/// run, 3 a deadlock, 4 a program error), 2 for a usage error.
pub fn run(args: &[String], out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let sweep = match parse(args) {
        Ok(sweep) => sweep,
        Err(Parsed::Help(text)) => {
            let _ = out.write_all(text.as_bytes());
            return EXIT_COMPLETED;
        }
        Err(Parsed::Usage(e)) => return usage_error(&e, args, out, err),
    };
    // The plot's file is opened before the sweep: a path that cannot be written is a
    // moment's usage error, not a message after every size has run.
    let mut svg_file = match sweep.flags.svg.as_deref().map(|path| launch::Output::open("--svg", path)).transpose() {
        Ok(file) => file,
        Err(e) => return usage_error(&e.to_string(), args, out, err),
    };
    let points = measure(&sweep);
    let scaling = if sweep.flags.weak.is_some() { Scaling::Weak } else { Scaling::Strong };
    let study = speedup::analyse(&points, scaling);
    let mut code = study.exit_code();
    if let Some(file) = &mut svg_file {
        if let Err(e) = file.write(&svg(&sweep, &study)) {
            let _ = writeln!(err, "error: {e}");
            code = code.max(EXIT_USAGE);
        }
    }
    if sweep.flags.tui {
        let platform = sweep.opts.world(1).platform_ref().name.clone();
        let params: String = sweep.params.describe().iter().map(|(k, v)| format!(" --{k} {v}")).collect();
        let (first, last) = (sweep.sizes[0], sweep.sizes[sweep.sizes.len() - 1]);
        let title = format!("{}{params} · N = {first}–{last} · {platform}", sweep.subject.name());
        let instead = "drop --tui to print the table and its chart, or write a plot with --svg FILE";
        let shown = crate::term::show(instead, |frame| {
            Speedup { title: &title, study: &study }.render(Theme::from_env(), frame.area(), frame.buffer_mut())
        });
        if let Err(e) = shown {
            let _ = writeln!(err, "error: terminal UI: {e}");
            return EXIT_USAGE;
        }
    }
    let report = match sweep.flags.format {
        Output::Text => text(&sweep, &study),
        Output::Json => format!("{}\n", self::json(&sweep, &study)),
        Output::Csv => csv(&study),
    };
    let _ = out.write_all(report.as_bytes()).and_then(|_| out.flush());
    code
}

/// Prints a usage error as `args` ask: JSON on `out` under `--format json`, else a line on
/// `err`; returns the exit code of a usage error.
fn usage_error(message: &str, args: &[String], out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    if launch::Format::requested(args) == launch::Format::Json {
        let _ = writeln!(out, "{}", launch::usage_json(message, Value::Null));
    } else {
        let _ = writeln!(err, "error: {message}\n(`mpisim scale --help` lists its flags; `mpisim list` the programs)");
    }
    EXIT_USAGE
}

enum Parsed {
    Help(String),
    Usage(String),
}

/// Splits the arguments into the sweep's own flags (for clap) and the rest (run flags and
/// program parameters, for `RunOptions`), then checks what they ask for.
fn parse(args: &[String]) -> Result<Sweep, Parsed> {
    let mut command = Flags::command();
    command.build(); // adds --help to the arguments
    let mine = |flag: &str| {
        command.get_arguments().find(|a| {
            flag.strip_prefix("--").is_some_and(|long| a.get_long() == Some(long))
                || flag.strip_prefix('-').and_then(|s| s.parse::<char>().ok()).is_some_and(|c| a.get_short() == Some(c))
        })
    };
    let mut ours = vec!["mpisim scale".to_string()];
    let mut rest: Vec<String> = Vec::new();
    let mut it = args.iter();
    if let Some(first) = args.first().filter(|a| !a.starts_with('-')) {
        ours.push(first.clone());
        it.next();
    }
    while let Some(arg) = it.next() {
        if arg == "--" {
            rest.push(arg.clone());
            rest.extend(it.by_ref().cloned());
            break;
        }
        let flag = arg.split_once('=').map_or(arg.as_str(), |(f, _)| f);
        match mine(flag) {
            Some(a) => {
                ours.push(arg.clone());
                if a.get_action().takes_values() && !arg.contains('=') {
                    ours.extend(it.next().cloned());
                }
            }
            None => rest.push(arg.clone()),
        }
    }
    let flags = match Flags::try_parse_from(&ours) {
        Ok(flags) => flags,
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelp => return Err(Parsed::Help(e.to_string())),
        Err(e) => {
            // clap's message up to its usage lines, on one line.
            let text = e.to_string();
            let lines: Vec<&str> = text.lines().map(str::trim).take_while(|l| !l.is_empty()).collect();
            return Err(Parsed::Usage(lines.join(" ").trim_start_matches("error: ").to_string()));
        }
    };
    let usage = Parsed::Usage;
    if mpisim::python::is_script(&flags.program) {
        return parse_script(flags, &rest);
    }
    let program = catalogue::find(&flags.program).ok_or_else(|| {
        let names: Vec<&str> = catalogue::programs().iter().map(|p| p.name).collect();
        usage(format!("unknown program `{}`; the catalogue has {}", flags.program, names.join(", ")))
    })?;
    let sizes = parse_sizes(&flags.sizes).map_err(usage)?;
    let (opts, given) = RunOptions::parse(&rest).map_err(|e| usage(e.to_string()))?;
    refuse_run_flags(&opts)?;
    let params = launch::program_params(program.name, program.params, &given).map_err(|e| usage(e.to_string()))?;
    if let Some(name) = &flags.weak {
        match program.params.iter().find(|p| p.name == name.as_str()) {
            Some(p) if matches!(p.kind, ParamKind::Count | ParamKind::Bytes) => {}
            Some(_) => return Err(usage(format!("--weak {name}: --{name} is not a number that can grow with N"))),
            None => {
                let numbers: Vec<String> = program
                    .params
                    .iter()
                    .filter(|p| matches!(p.kind, ParamKind::Count | ParamKind::Bytes))
                    .map(|p| format!("--{}", p.name))
                    .collect();
                let which = if numbers.is_empty() { "none".to_string() } else { numbers.join(", ") };
                return Err(usage(format!(
                    "--weak {name}: `{}` has no parameter --{name}; its numeric parameters: {which}",
                    program.name
                )));
            }
        }
    }
    if flags.real && !mpisim::real::AVAILABLE {
        return Err(usage(format!(
            "--real needs the real MPI backend, and this binary was built without it; {}",
            mpisim::real::BUILD_HINT
        )));
    }
    let run_args = without_params(&rest, program);
    Ok(Sweep { flags, subject: Subject::Program(program), sizes, opts, params, run_args })
}

/// The flags of `mpisim run` that a sweep does not take.
fn refuse_run_flags(opts: &RunOptions) -> Result<(), Parsed> {
    let refused = [
        (opts.ranks.is_some(), "-np: give the numbers of ranks with -n LIST"),
        (
            opts.trace.is_some(),
            "--trace: a sweep runs with the trace off; save a trace with `mpisim run PROGRAM -n N --trace FILE`",
        ),
        (
            opts.dot.is_some(),
            "--dot: a sweep draws no wait-for graph; run the failing size with `mpisim run … --dot FILE`",
        ),
        (
            opts.explore.is_some(),
            "--explore: a sweep runs the default schedule; explore one size with `mpisim run … --explore N`",
        ),
    ];
    match refused.iter().find(|r| r.0) {
        Some((_, why)) => Err(Parsed::Usage(why.to_string())),
        None => Ok(()),
    }
}

/// A sweep of an mpi4py script: the run flags, `--python` and `--measure` as `mpisim run
/// SCRIPT.py` takes them, the script's arguments after `--`.
fn parse_script(flags: Flags, rest: &[String]) -> Result<Sweep, Parsed> {
    let usage = Parsed::Usage;
    let sizes = parse_sizes(&flags.sizes).map_err(usage)?;
    let parsed = ScriptArgs::parse(&flags.program, rest).map_err(|e| usage(e.to_string()))?;
    refuse_run_flags(&parsed.opts)?;
    if let Some(name) = &flags.weak {
        return Err(usage(format!(
            "--weak {name}: a script has no parameters for mpisim to grow; let the script size its problem from \
             comm.size, or sweep its argument yourself with `mpisim run {} -n N -- ARGS`",
            flags.program
        )));
    }
    let script = parsed.script(&flags.program).map_err(|e| usage(e.to_string()))?;
    // The real runs measure Python's time anyway (`mpisim run --real` refuses --measure).
    let run_args = rest.iter().take_while(|a| *a != "--").filter(|a| *a != "--measure");
    let run_args = run_args.chain(rest.iter().skip_while(|a| *a != "--")).cloned().collect();
    let opts = parsed.opts;
    Ok(Sweep { flags, subject: Subject::Script(script), sizes, opts, params: Params::default(), run_args })
}

/// `args` without the program's parameters (`--NAME VALUE`, `--NAME=VALUE`), as
/// `RunOptions::parse` tells them from run flags (`--algorithm COLL=NAME` is a run flag,
/// `--algorithm NAME` a parameter).
fn without_params(args: &[String], program: &Program) -> Vec<String> {
    let mut kept = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        if arg == "--" {
            kept.push(arg.clone());
            kept.extend(it.by_ref().cloned());
            break;
        }
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v)),
            _ => (arg.as_str(), None),
        };
        let value = inline.or_else(|| it.clone().next().map(String::as_str));
        let name = flag.strip_prefix("--").unwrap_or_default();
        let run_flag = name == "algorithm" && value.is_some_and(|v| v.contains('='));
        if !run_flag && program.params.iter().any(|p| p.name == name) {
            if inline.is_none() {
                it.next();
            }
        } else {
            kept.push(arg.clone());
        }
    }
    kept
}

/// Parses `1,2,4`, `1..64` (powers of two from 1 to 64) and mixes `1..16,24`; the sizes
/// must increase.
pub fn parse_sizes(text: &str) -> Result<Vec<usize>, String> {
    let mut sizes: Vec<usize> = Vec::new();
    let size = |s: &str| -> Result<usize, String> {
        let n: usize = s.trim().parse().map_err(|_| format!("-n {text}: `{}` is not a number of ranks", s.trim()))?;
        if n == 0 {
            return Err(format!("-n {text}: N = 0 is not a number of ranks; a run needs at least 1"));
        }
        Ok(n)
    };
    for item in text.split(',') {
        if item.trim().is_empty() {
            return Err(format!("-n {text}: an empty size; give sizes like 1,2,4,8 or a range like 1..64"));
        }
        match item.split_once("..") {
            Some((from, to)) => {
                let (from, to) = (size(from)?, size(to)?);
                if to < from {
                    return Err(format!("-n {text}: the range {from}..{to} runs backwards; write {to}..{from}"));
                }
                let mut n = from;
                while n <= to {
                    sizes.push(n);
                    n = match n.checked_mul(2) {
                        Some(next) => next,
                        None => break,
                    };
                }
            }
            None => sizes.push(size(item)?),
        }
    }
    if let Some(w) = sizes.windows(2).find(|w| w[1] <= w[0]) {
        return Err(format!(
            "-n {text}: the sizes must increase, but {} comes after {}; sort them and drop repeats",
            w[1], w[0]
        ));
    }
    Ok(sizes)
}

/// The program's parameters at `ranks`: weak scaling grows its parameter with N.
fn params_at(sweep: &Sweep, ranks: usize) -> Result<Params, Failure> {
    let mut params = sweep.params.clone();
    if let Some(name) = &sweep.flags.weak {
        let first = sweep.sizes[0] as u64;
        let grown = params.number(name).checked_mul(ranks as u64).map(|v| v / first);
        let grown = grown.ok_or_else(|| Failure::refused(format!("--{name} grown {ranks}/{first} times overflows")))?;
        params.set_number(name, grown).map_err(|e| Failure::refused(e.to_string()))?;
    }
    Ok(params)
}

/// Runs every size (and on real MPI if asked), with a progress bar on a terminal.
fn measure(sweep: &Sweep) -> Vec<Point> {
    let repeats = if sweep.flags.real { u64::from(sweep.flags.repeat) } else { 0 };
    let bar = progress_bar(sweep.sizes.len() as u64 * (1 + repeats));
    let mut next = sweep.sizes.iter().skip(1);
    bar.set_message(format!("N = {}", sweep.sizes[0]));
    let mut points = speedup::sweep(
        &sweep.sizes,
        |n| {
            if let Some(why) = sweep.subject.too_few(n) {
                return Err(Failure::refused(why));
            }
            let mut world = sweep.opts.world(n);
            let program: Box<dyn Fn(&mpisim::Comm) + '_> = match &sweep.subject {
                Subject::Program(program) => {
                    let params = params_at(sweep, n)?;
                    params.fit_ranks(n).map_err(|e| Failure::refused(e.to_string()))?;
                    world = world.demand(program.demand(&params, n));
                    Box::new(move |comm: &mpisim::Comm| {
                        (program.run)(comm, &params);
                    })
                }
                Subject::Script(script) => Box::new(script.program(world.platform_ref(), sweep.opts.seed)),
            };
            Ok((world, program))
        },
        |_| {
            bar.inc(1);
            bar.set_message(next.next().map_or(String::new(), |n| format!("N = {n}")));
        },
    );
    if sweep.flags.real {
        let done = sweep.sizes.len() as u64;
        for (i, point) in points.iter_mut().enumerate() {
            bar.set_message(format!("N = {} on real MPI", point.ranks));
            point.real = Some(real(sweep, point.ranks, &bar));
            // A size that failed early counts as done with all its repetitions.
            bar.set_position(done + (i as u64 + 1) * repeats);
        }
    }
    bar.finish_and_clear();
    points
}

fn progress_bar(len: u64) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let style = indicatif::ProgressStyle::with_template("scale {bar:32} {pos}/{len} runs {msg}")
        .expect("the template is valid");
    indicatif::ProgressBar::with_draw_target(Some(len), indicatif::ProgressDrawTarget::stderr()).with_style(style)
}

/// `repeat` runs of one size on real MPI: this binary's `mpisim run … --real --format
/// json`, which re-executes itself under the launcher; their wall times.
fn real(sweep: &Sweep, ranks: usize, bar: &indicatif::ProgressBar) -> Result<Real, String> {
    if let Some(why) = sweep.subject.too_few(ranks) {
        return Err(why);
    }
    let params = params_at(sweep, ranks).map_err(|f| f.message)?;
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this program's own binary: {e}"))?;
    let name = match &sweep.subject {
        Subject::Program(p) => p.name.to_string(),
        Subject::Script(s) => s.path().to_string(),
    };
    let mut args: Vec<String> = vec!["run".into(), name, "-n".into(), ranks.to_string()];
    args.extend(["--real".into(), "--format".into(), "json".into()]);
    for (k, v) in params.describe() {
        args.extend([format!("--{k}"), v]);
    }
    let (flags, launcher): (Vec<String>, Vec<String>) = split_launcher_args(&sweep.run_args);
    args.extend(flags);
    args.extend(launcher);
    let mut runs = Vec::new();
    for _ in 0..sweep.flags.repeat {
        let out =
            Command::new(&exe).args(&args).output().map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
        let report: Option<Value> = serde_json::from_slice(&out.stdout).ok();
        match report.as_ref().and_then(|r| r["wall_time_ns"].as_u64().filter(|_| r["outcome"] == "completed")) {
            Some(ns) => runs.push(Time(ns)),
            None => {
                let why = match &report {
                    Some(r) => {
                        let message = r["error"]["message"].as_str().unwrap_or_default();
                        format!(
                            "{}: {}",
                            r["outcome"].as_str().unwrap_or("failed"),
                            message.lines().next().unwrap_or("")
                        )
                    }
                    None => String::from_utf8_lossy(&out.stderr).lines().next().unwrap_or("no report").to_string(),
                };
                return Err(format!("real MPI: {}", why.trim_start_matches("error: ").trim_end_matches(": ")));
            }
        }
        bar.inc(1);
    }
    Ok(Real { runs })
}

/// The flags before `--`, and `--` with the launcher's arguments.
fn split_launcher_args(args: &[String]) -> (Vec<String>, Vec<String>) {
    match args.iter().position(|a| a == "--") {
        Some(i) => (args[..i].to_vec(), args[i..].to_vec()),
        None => (args.to_vec(), Vec::new()),
    }
}

/// `parallel-map --items 100000 on 1 to 64 ranks, platform default (eager limit 64 KiB)`.
fn setting(sweep: &Sweep) -> String {
    let params: String = sweep
        .params
        .describe()
        .iter()
        .map(|(k, v)| {
            let grows = if sweep.flags.weak.as_deref() == Some(k.as_str()) { " (× N/N₀)" } else { "" };
            format!(" --{k} {v}{grows}")
        })
        .collect();
    let world = sweep.opts.world(1);
    let platform = world.platform_ref();
    let (first, last) = (sweep.sizes[0], sweep.sizes[sweep.sizes.len() - 1]);
    let sizes = if first == last { format!("{first}") } else { format!("{first} to {last}") };
    let strict = if sweep.opts.strict { ", strict" } else { "" };
    format!(
        "{}{params} on {sizes} ranks, platform {} (eager limit {}{strict})",
        sweep.subject.name(),
        platform.name,
        platform.eager_limit_text()
    )
}

fn cell(x: Option<f64>, width: usize, digits: usize) -> String {
    match x {
        Some(x) => format!("{x:>width$.digits$}"),
        None => format!("{:>width$}", "—"),
    }
}

/// The table, its chart, the fit and what the figures say.
fn text(sweep: &Sweep, study: &Analysis) -> String {
    let mut out = format!("scale: {}\n", setting(sweep));
    let weak = study.scaling == Scaling::Weak;
    if let Some(base) = study.base.filter(|&b| b > 1) {
        let what = if weak { "scaled speedups" } else { "speedups" };
        out += &format!("  {what} are relative to N = {base}, the smallest size that completed, taken as perfect\n");
    }
    out += if weak {
        "      N         T(N)  weak eff.  scaled S  Gustafson     LB   SerE     TE\n"
    } else {
        "      N         T(N)  speedup   eff.    K–F  Amdahl     LB   SerE     TE\n"
    };
    for row in &study.rows {
        out += &format!("{:>7} ", row.ranks);
        let Some(m) = row.measure else {
            let f = row.failure.as_ref().expect("a row without figures has failed");
            out += &format!("  {}: {}\n", f.outcome, f.message);
            continue;
        };
        let pop = row.pop.expect("a measured row has POP figures");
        let efficiencies =
            format!("{} {} {}", cell(pop.load_balance, 6, 3), cell(pop.serialisation, 6, 3), cell(pop.transfer, 6, 3));
        let figures = if weak {
            [cell(row.weak_efficiency, 10, 3), cell(row.scaled_speedup, 9, 2), cell(row.gustafson_speedup, 10, 2)]
                .join(" ")
        } else {
            let strong =
                [(row.speedup, 8, 2), (row.efficiency, 6, 3), (row.karp_flatt, 6, 3), (row.amdahl_speedup, 7, 2)];
            strong.map(|(x, width, digits)| cell(x, width, digits)).join(" ")
        };
        out += &format!("{:>12} {figures} {efficiencies}\n", m.time.to_string());
    }
    out += if weak {
        "  weak eff. T(N₀)/T(N); scaled S N·T(N₀)/T(N); Gustafson: the fitted N − s(N − 1)\n"
    } else {
        "  K–F: Karp–Flatt serial fraction; Amdahl: the fitted 1/(s + (1 − s)/N)\n"
    };
    out += "  LB, SerE, TE: POP's load balance, serialisation and transfer efficiency (TE = T_ideal/T on an ideal\n  network); communication efficiency = SerE × TE\n";
    if let Some(line) = fit_line(study) {
        out += &format!("{line}\n");
    }
    if let (Some(fit), false) = (study.amdahl, weak) {
        if let Some(row) = study.rows.last() {
            out += &format!(
                "  Gustafson: with the same s, a problem that grew with N would scale to {:.2} at N = {}\n",
                speedup::gustafson_speedup(fit.serial, row.ranks as f64),
                row.ranks
            );
        }
    }
    out += "\n";
    out += &text_chart(&Curves::of(study, 60), 60, 12);
    out += "\n";
    for finding in &study.findings {
        out += &format!("· {finding}\n");
    }
    if study.rows.iter().any(|r| r.real.is_some()) {
        out += &real_table(sweep, study);
    }
    out
}

/// Measured against simulated, size by size.
fn real_table(sweep: &Sweep, study: &Analysis) -> String {
    let platform = sweep.opts.world(1).platform_ref().name.clone();
    let mut out = format!(
        "\nreal MPI, median of {} run{} a size, against the simulation on platform {platform}:\n",
        sweep.flags.repeat,
        if sweep.flags.repeat == 1 { "" } else { "s" }
    );
    out += "      N    simulated     measured   S sim  S real   error\n";
    for row in &study.rows {
        let Some(real) = &row.real else { continue };
        let simulated = row.measure.map_or("—".to_string(), |m| m.time.to_string());
        if let Some(why) = &real.failure {
            out += &format!("{:>7} {simulated:>12}  {why}\n", row.ranks);
            continue;
        }
        let measured = real.median.map_or("—".to_string(), |t| t.to_string());
        let error = real.error.map_or("—".to_string(), |e| format!("{:+.1}%", e * 100.0));
        out += &format!(
            "{:>7} {simulated:>12} {measured:>12} {} {} {error:>7}\n",
            row.ranks,
            cell(row.speedup.or(row.scaled_speedup), 7, 2),
            cell(real.speedup, 7, 2)
        );
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let launcher = split_launcher_args(&sweep.run_args).1;
    if launcher.is_empty() && study.rows.iter().any(|r| r.real.is_some() && r.ranks > cores) {
        out += &format!(
            "  sizes above {cores} ranks share this machine's {cores} cores, and a computing rank needs a core: the \
             simulation assumes one each (pass a host file after -- to run on more machines)\n"
        );
    }
    if platform == "default" {
        out += "  the default platform is a guess at a network: `mpisim calibrate -o lab.ron` measures this one, and \
                --platform lab.ron predicts with it\n";
    }
    out
}

/// The chart as text: `width` × `height` cells, log₂ N across, speedup up.
pub fn text_chart(curves: &Curves, width: usize, height: usize) -> String {
    let mut grid = vec![vec![' '; width]; height];
    let span = (curves.x.1 - curves.x.0).max(1e-9);
    let column = |x: f64| (((x - curves.x.0) / span) * (width - 1) as f64).round() as usize;
    let row = |y: f64| {
        let r = (y / curves.y_max * (height - 1) as f64).round();
        (r >= 0.0 && r <= (height - 1) as f64).then(|| height - 1 - r as usize)
    };
    let mut plot = |points: &[(f64, f64)], glyph: char| {
        for &(x, y) in points {
            if let Some(r) = row(y) {
                grid[r][column(x).min(width - 1)] = glyph;
            }
        }
    };
    plot(&curves.ideal, '·');
    plot(&curves.fit, '-');
    plot(&curves.real, 'o');
    plot(&curves.simulated, '*');
    let top = number(curves.y_max);
    let label = top.len().max(1);
    let mut out = format!("{:>label$}  {}\n", "", curves.quantity);
    for (i, line) in grid.iter().enumerate() {
        let y = if i == 0 {
            top.clone()
        } else if i == height - 1 {
            "0".into()
        } else {
            String::new()
        };
        out += &format!("{y:>label$} ┤{}\n", line.iter().collect::<String>().trim_end());
    }
    out += &format!("{:>label$} └{}\n", "", "─".repeat(width));
    let mut axis = vec![' '; width + 8];
    for text in curves.x_labels() {
        let x = text.parse::<f64>().map_or(curves.x.0, f64::log2);
        let at = column(x).saturating_sub(text.len() / 2);
        for (k, c) in text.chars().enumerate() {
            if let Some(slot) = axis.get_mut(at + k) {
                *slot = c;
            }
        }
    }
    out += &format!("{:>label$}  {}  N\n", "", axis.iter().collect::<String>().trim_end());
    let real = if curves.real.is_empty() { "" } else { "   o real MPI" };
    out += &format!("{:>label$}  * simulated   - {}   · ideal (S = N){real}\n", "", curves.fit_name);
    out
}

/// One JSON object: the setting and the study.
fn json(sweep: &Sweep, study: &Analysis) -> Value {
    let world = sweep.opts.world(1);
    let platform = world.platform_ref();
    let params: serde_json::Map<String, Value> =
        sweep.params.describe().into_iter().map(|(k, v)| (k, Value::String(v))).collect();
    let mut report = json!({
        "program": sweep.subject.name(),
        "params": params,
        "weak": sweep.flags.weak,
        "platform": platform.name,
        "eager_limit": platform.eager_limit,
        "strict": sweep.opts.strict,
        "seed": sweep.opts.seed,
        "sizes": sweep.sizes,
        "completed": study.all_completed(),
    });
    if sweep.flags.real {
        report["real_repeat"] = json!(sweep.flags.repeat);
    }
    if let Value::Object(fields) = serde_json::to_value(study).expect("a study is JSON") {
        report.as_object_mut().expect("an object").extend(fields);
    }
    report
}

/// One line per size, with a header line; empty cells where a figure is undefined.
fn csv(study: &Analysis) -> String {
    let mut out = String::from(
        "ranks,outcome,time_ns,ideal_time_ns,useful_total_ns,useful_max_ns,speedup,efficiency,karp_flatt,\
         amdahl_speedup,gustafson_speedup,weak_efficiency,scaled_speedup,load_balance,serialisation,transfer,\
         communication,parallel,real_median_ns,real_speedup,real_error,message\n",
    );
    let f = |x: Option<f64>| x.map_or(String::new(), |x| x.to_string());
    let ns = |t: Option<Time>| t.map_or(String::new(), |t| t.as_nanos().to_string());
    for row in &study.rows {
        let Row { ranks, measure, failure, pop, real, .. } = row;
        let outcome = failure.as_ref().map_or("completed", |f| f.outcome.as_str());
        let pop = pop.unwrap_or(speedup::Pop {
            load_balance: None,
            serialisation: None,
            transfer: None,
            communication: None,
            parallel: None,
        });
        let message = failure.as_ref().map(|f| f.message.clone()).or_else(|| real.as_ref()?.failure.clone());
        let fields = [
            ranks.to_string(),
            outcome.to_string(),
            ns(measure.map(|m| m.time)),
            ns(measure.map(|m| m.ideal_time)),
            ns(measure.map(|m| m.useful_total)),
            ns(measure.map(|m| m.useful_max)),
            f(row.speedup),
            f(row.efficiency),
            f(row.karp_flatt),
            f(row.amdahl_speedup),
            f(row.gustafson_speedup),
            f(row.weak_efficiency),
            f(row.scaled_speedup),
            f(pop.load_balance),
            f(pop.serialisation),
            f(pop.transfer),
            f(pop.communication),
            f(pop.parallel),
            ns(real.as_ref().and_then(|r| r.median)),
            f(real.as_ref().and_then(|r| r.speedup)),
            f(real.as_ref().and_then(|r| r.error)),
            message.map_or(String::new(), |m| format!("\"{}\"", m.replace('"', "\"\""))),
        ];
        out += &fields.join(",");
        out += "\n";
    }
    out
}

/// A panel of the plot: its caption, the log₂ N axis `x` and a y axis from 0 to `y_max`.
fn panel<'a, 'b>(
    area: &'a plotters::prelude::DrawingArea<plotters::prelude::SVGBackend<'b>, plotters::coord::Shift>,
    x: plotters::coord::combinators::LogCoord<f64>,
    caption: String,
    y_desc: &str,
    y_max: f64,
) -> Result<
    plotters::prelude::ChartContext<
        'a,
        plotters::prelude::SVGBackend<'b>,
        plotters::prelude::Cartesian2d<
            plotters::coord::combinators::LogCoord<f64>,
            plotters::coord::types::RangedCoordf64,
        >,
    >,
    String,
> {
    use plotters::prelude::*;
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(48)
        .build_cartesian_2d(x, 0.0..y_max)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("ranks N")
        .y_desc(y_desc)
        .x_label_formatter(&|x| number(*x))
        .draw()
        .map_err(|e| e.to_string())?;
    Ok(chart)
}

/// Draws a chart's legend boxed at `position`.
fn legend<'a, DB: plotters::prelude::DrawingBackend + 'a, CT: plotters::coord::CoordTranslate>(
    chart: &mut plotters::prelude::ChartContext<'a, DB, CT>,
    position: plotters::prelude::SeriesLabelPosition,
) -> Result<(), String> {
    use plotters::prelude::*;
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| e.to_string())
}

/// One figure of a row, as the efficiency plot draws it.
type Figure = fn(&Row) -> Option<f64>;

/// The plot as SVG text: speedup with the ideal line and the fitted law above, the
/// efficiencies below, both against N on a log₂ axis.
fn svg(sweep: &Sweep, study: &Analysis) -> String {
    use plotters::prelude::*;
    let curves = Curves::of(study, 200);
    let mut text = String::new();
    let drawn = (|| -> Result<(), String> {
        let e = |e: &dyn std::fmt::Display| e.to_string();
        let root = SVGBackend::with_string(&mut text, (900, 760)).into_drawing_area();
        root.fill(&WHITE).map_err(|x| e(&x))?;
        let (top, bottom) = root.split_vertically(440);
        let n = |x: f64| x.exp2();
        let x_range =
            || -> LogCoord<f64> { (n(curves.x.0)..n(curves.x.1.max(curves.x.0 + 1.0))).log_scale().base(2.0).into() };
        let caption = format!("{}: {}", curves.quantity, setting(sweep));
        let mut chart = panel(&top, x_range(), caption, curves.quantity, curves.y_max)?;
        let at_n = |points: &[(f64, f64)]| -> Vec<(f64, f64)> { points.iter().map(|&(x, y)| (n(x), y)).collect() };
        let ideal: Vec<(f64, f64)> = at_n(&curves.ideal).into_iter().filter(|p| p.1 <= curves.y_max).collect();
        chart
            .draw_series(LineSeries::new(ideal, BLACK.mix(0.4)))
            .map_err(|x| e(&x))?
            .label("ideal S = N")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.mix(0.4)));
        if !curves.fit.is_empty() {
            chart
                .draw_series(LineSeries::new(at_n(&curves.fit), BLUE.stroke_width(2)))
                .map_err(|x| e(&x))?
                .label(curves.fit_name.clone())
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE));
        }
        for (points, color, name) in [(&curves.simulated, RED, "simulated"), (&curves.real, GREEN, "real MPI")] {
            if points.is_empty() {
                continue;
            }
            let points = at_n(points);
            chart.draw_series(LineSeries::new(points.clone(), color)).map_err(|x| e(&x))?;
            chart
                .draw_series(points.iter().map(|&p| Circle::new(p, 4, color.filled())))
                .map_err(|x| e(&x))?
                .label(name)
                .legend(move |(x, y)| Circle::new((x + 10, y), 4, color.filled()));
        }
        legend(&mut chart, SeriesLabelPosition::UpperLeft)?;

        let caption = "efficiency, and POP's reasons for lost time".to_string();
        let mut lower = panel(&bottom, x_range(), caption, "efficiency", 1.05)?;
        let efficiency_name = if study.scaling == Scaling::Weak { "weak efficiency" } else { "efficiency S/N" };
        let series: [(&str, RGBColor, Figure); 4] = [
            (efficiency_name, RED, |r| r.efficiency.or(r.weak_efficiency)),
            ("load balance", MAGENTA, |r| r.pop?.load_balance),
            ("serialisation", CYAN, |r| r.pop?.serialisation),
            ("transfer", BLUE, |r| r.pop?.transfer),
        ];
        for (name, color, value) in series {
            let points: Vec<(f64, f64)> =
                study.rows.iter().filter_map(|r| value(r).map(|v| (r.ranks as f64, v.min(1.05)))).collect();
            lower
                .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
                .map_err(|x| e(&x))?
                .label(name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
            lower.draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled()))).map_err(|x| e(&x))?;
        }
        legend(&mut lower, SeriesLabelPosition::LowerLeft)?;
        root.present().map_err(|x| e(&x))?;
        Ok(())
    })();
    if let Err(why) = drawn {
        // plotters fails only on a backend error, which a string backend does not have;
        // say so in the file rather than write half a picture.
        return format!("<svg xmlns=\"http://www.w3.org/2000/svg\"><text x=\"10\" y=\"20\">{why}</text></svg>\n");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check_sizes(text: &str, want: Result<&[usize], &str>) {
        match (parse_sizes(text), want) {
            (Ok(got), Ok(want)) => assert_eq!(got, want, "{text}"),
            (Err(got), Err(want)) => assert!(got.contains(want), "{text}: {got}"),
            (got, want) => panic!("{text}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn sizes_are_lists_ranges_or_both() {
        check_sizes("1,2,4", Ok(&[1, 2, 4]));
        check_sizes("1..64", Ok(&[1, 2, 4, 8, 16, 32, 64]));
        check_sizes("3..20", Ok(&[3, 6, 12]));
        check_sizes("1..8,12,16", Ok(&[1, 2, 4, 8, 12, 16]));
        check_sizes("7", Ok(&[7]));
        check_sizes("", Err("an empty size"));
        check_sizes("1,,2", Err("an empty size"));
        check_sizes("4,2,8", Err("the sizes must increase, but 2 comes after 4"));
        check_sizes("1,2,2", Err("but 2 comes after 2"));
        check_sizes("0,1,2", Err("N = 0 is not a number of ranks"));
        check_sizes("0..8", Err("N = 0"));
        check_sizes("64..1", Err("runs backwards; write 1..64"));
        check_sizes("two", Err("`two` is not a number of ranks"));
        check_sizes("1..8,4", Err("4 comes after 8"));
    }

    #[test]
    fn run_flags_pass_through_and_parameters_are_left_out_of_real_runs() {
        let args: Vec<String> =
            ["--items", "5", "--platform", "ideal", "--algorithm", "allreduce=ring", "--", "--hostfile", "h"]
                .iter()
                .map(|s| s.to_string())
                .collect();
        let program = catalogue::find("parallel-map").unwrap();
        assert_eq!(without_params(&args, program), args[2..].to_vec());
        let coll = catalogue::find("coll").unwrap();
        let args: Vec<String> = ["--algorithm", "ring", "--op", "bcast"].iter().map(|s| s.to_string()).collect();
        assert!(without_params(&args, coll).is_empty());
    }
}
