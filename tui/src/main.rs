//! `mpisim`: the command line of the simulator.
//!
//! It owns no simulation logic: it parses arguments, asks the engine (`mpisim`) to run a
//! catalogue program, and prints what the engine reports or shows it in the terminal UI.

mod exercise_cmd;

use mpisim::catalogue;
use mpisim::launch::{self, emit, UsageError};
use mpisim::report::EXIT_USAGE;
use std::process::ExitCode;

const USAGE: &str = "\
mpisim: a deterministic MPI simulator and teaching tool

usage:
  mpisim                              the lesson browser (on a terminal), else the list of lessons
  mpisim lesson list|NAME|check FILE...
                                      the lessons; open one (--text: print it); check lesson files
  mpisim list                         the program catalogue and its parameters
  mpisim run PROGRAM [-n N] [--PARAM VALUE ...] [flags]
                                      simulate a catalogue program
  mpisim run SCRIPT.py [-n N] [flags] [--python PATH] [--measure] [-- ARGS ...]
                                      simulate an mpi4py script (each rank a python3 process)
  mpisim scale PROGRAM|SCRIPT.py -n LIST [--weak PARAM] [--format text|json|csv] [--svg FILE] [--tui] [--real]
                                      speedup against Amdahl's law at each N, and why time is lost
  mpisim platforms                    the built-in platform presets
  mpisim platform NAME|FILE           print a platform as a RON file (a template for your own)
  mpisim calibrate [-o FILE]          measure this machine's MPI, write a platform file (needs --features mpi)
  mpisim view TRACE [--mouse] [--max-size SIZE]
                                      explore a trace saved with --trace in the terminal UI
  mpisim exercise list|show|start|check
                                      graded exercises: `exercise start ring` writes a project to fix
  mpisim grade [DIR...] [--format json]
                                      build exercise projects and run them under their checks
  mpisim version                      the version of mpisim
  mpisim help                         this text

exit codes: 0 completed, 2 usage error, 3 deadlock, 4 program error (a rank failed, aborted or a limit stopped it)

flags of run:";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = match args.first().map(String::as_str) {
        None => mpisim_tui::lesson_cmd::no_arguments(),
        Some("help" | "-h" | "--help") => {
            emit(&format!("{USAGE}\n{}\n", launch::run_flags(true)));
            0
        }
        Some("version" | "--version" | "-V") => {
            emit(&format!("mpisim {}\n", env!("CARGO_PKG_VERSION")));
            0
        }
        Some("list") => {
            emit(&list());
            0
        }
        Some("platforms") => {
            emit(&mpisim::platform::presets_text());
            0
        }
        Some("platform") => match args.get(1).map(|n| mpisim::Platform::resolve(n)) {
            Some(Ok(p)) => {
                emit(&p.to_template());
                0
            }
            Some(Err(e)) => usage_error(&e.to_string()),
            None => usage_error("platform needs a preset name or a file"),
        },
        Some("run") => run(&args[1..]),
        Some("scale") => mpisim_tui::scale::main(&args[1..]),
        Some("calibrate") => mpisim::real::calibrate::main(&args[1..]),
        Some("view") => mpisim_tui::view_cmd::main(&args[1..]),
        Some("lesson" | "lessons") => mpisim_tui::lesson_cmd::main(&args[1..]),
        Some("exercise" | "exercises") => exercise_cmd::exercise_main(&args[1..]),
        Some("grade") => exercise_cmd::grade_main(&args[1..]),
        Some(other) => usage_error(&format!("unknown command `{other}`")),
    };
    ExitCode::from(code as u8)
}

fn usage_error(message: &str) -> i32 {
    eprintln!("error: {message}\n(run `mpisim help` for usage)");
    EXIT_USAGE
}

/// The catalogue in aligned columns: names, then each program's parameters under it.
fn list() -> String {
    let programs = catalogue::programs();
    let name_width = programs.iter().map(|p| p.name.chars().count()).max().unwrap_or(0);
    let usages: Vec<String> = programs.iter().flat_map(|p| p.params.iter().map(|q| q.usage())).collect();
    // A very long usage (a choice of many words) gets its own line instead of widening all.
    let usage_width = usages.iter().map(|u| u.chars().count()).filter(|&w| w <= 32).max().unwrap_or(0);
    let mut out = String::from("programs:\n");
    for p in programs {
        out +=
            &format!("  {:<name_width$}  {} (n ≥ {}, default {})\n", p.name, p.summary, p.min_ranks, p.default_ranks);
        for param in p.params {
            let usage = param.usage();
            if usage.chars().count() > usage_width {
                out += &format!("      {usage}\n      {:usage_width$}  {}\n", "", param.description());
            } else {
                out += &format!("      {usage:<usage_width$}  {}\n", param.description());
            }
        }
    }
    out
}

fn run(args: &[String]) -> i32 {
    let Some(name) = args.first() else {
        return usage_error("run needs a program name; `mpisim list` shows them");
    };
    if mpisim::python::is_script(name) {
        return mpisim::python::run_script(name, &args[1..], Some(&mpisim_tui::viewer));
    }
    match catalogue::find(name) {
        Some(program) => launch::run_program_with(program, &args[1..], Some(&mpisim_tui::viewer)),
        None => {
            let known = catalogue::programs().iter().map(|p| p.name.to_string()).collect();
            let error = UsageError::UnknownProgram { given: name.clone(), known };
            launch::usage_error(&error, args, "`mpisim list` shows the programs and their parameters")
        }
    }
}
