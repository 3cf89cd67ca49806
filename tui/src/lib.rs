//! # mpisim-tui: the terminal UI of mpisim
//!
//! A space-time diagram of a simulated MPI run that steps forward and back event by event,
//! with a message inspector, each rank's pending call and queues, the deadlock, a
//! communication matrix and a summary. It draws what the engine's
//! [`Timeline`](mpisim::timeline::Timeline) derives from a [`Trace`]; it has no simulation
//! logic of its own.
//!
//! Give your own program every flag of `mpisim run`, `--tui` included, with one line:
//!
//! ```no_run
//! fn my_program(comm: &mpisim::Comm) -> usize {
//!     comm.rank()
//! }
//!
//! fn main() {
//!     mpisim_tui::main(my_program) // then: cargo run -- -n 8 --tui
//! }
//! ```
//!
//! The UI follows the Elm architecture: [`App`] is the model, [`Msg`] the messages,
//! [`App::update`] the update and [`view::view`] the view.
#![deny(missing_docs)]

pub mod app;
pub mod browser;
pub mod course;
pub mod keys;
pub mod layout;
pub mod lesson_cmd;
pub mod progress;
pub mod scale;
mod term;
pub mod theme;
pub mod view;
pub mod view_cmd;

pub use app::{App, Control, Msg, Outcome, Screen};
pub use browser::{Browser, BrowserMsg};
pub use term::{run, run_model, Model};
pub use theme::Theme;

use mpisim::launch::RunOptions;
use mpisim::report::RunHeader;
use mpisim::{Comm, SimError, Trace, Warning};
use serde::Serialize;

/// Runs a user's program with the flags of `mpisim run` from the process's arguments
/// (`-n`, `--platform`, `--trace`, `--tui`, …); with `--tui` the run opens in the terminal
/// UI, and its report is printed when the UI is closed. Exits with the run's exit code.
pub fn main<R: Serialize, F: Fn(&Comm) -> R>(program: F) -> ! {
    mpisim::launch::main_with(program, Some(&viewer))
}

/// [`main`] for a program that declares its own parameters (see
/// [`mpisim::launch::main_with_params`]); `--help` lists them and offers `--tui`.
pub fn main_with_params<R: Serialize, F: Fn(&Comm, &mpisim::launch::Params) -> R>(
    params: &[mpisim::launch::Param],
    program: F,
) -> ! {
    mpisim::launch::main_with_params_viewer(params, program, Some(&viewer))
}

/// The viewer `--tui` runs (a [`mpisim::launch::Viewer`]): shows the finished run, its
/// warnings too.
pub fn viewer(
    trace: &Trace,
    error: Option<&SimError>,
    warnings: &[Warning],
    _header: &RunHeader,
    opts: &RunOptions,
) -> Result<(), String> {
    let app = App::new(trace.clone(), error, warnings, app::run_title(trace));
    run(app, opts.mouse).map_err(|e| format!("terminal UI: {e}"))
}
