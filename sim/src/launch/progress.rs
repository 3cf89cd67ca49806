//! `--explore N` as a user waits for it: a progress bar on a terminal (none in a pipe or
//! a log, where it would be noise), and Ctrl-C that ends the exploration after the run in
//! progress, with the report of the runs so far, instead of killing the process with
//! nothing said. A second Ctrl-C ends the process at once, as Ctrl-C usually does.

use crate::report::EXIT_INTERRUPTED;
use crate::sigint::Sigint;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle, TermLike};
use std::io::IsTerminal;
use std::ops::ControlFlow;

/// Watches an exploration of up to `limit` schedules; stops watching when dropped.
pub(crate) struct ExploreWatch {
    bar: ProgressBar,
    sigint: Sigint,
}

impl ExploreWatch {
    /// Starts watching: the bar appears if standard error is a terminal.
    pub(crate) fn start(limit: usize) -> ExploreWatch {
        let bar = if std::io::stderr().is_terminal() && limit > 1 {
            let target = ProgressDrawTarget::term_like_with_hz(Box::new(ShortOfTheEdge(console::Term::stderr())), 10);
            ExploreWatch::bar(limit as u64, target)
        } else {
            ProgressBar::hidden()
        };
        ExploreWatch::with_bar(bar)
    }

    fn bar(limit: u64, target: ProgressDrawTarget) -> ProgressBar {
        let style = ProgressStyle::with_template("exploring {bar:16} {pos}/{len} schedules, {eta} left; Ctrl-C stops")
            .expect("a valid template");
        ProgressBar::with_draw_target(Some(limit), target).with_style(style)
    }

    fn with_bar(bar: ProgressBar) -> ExploreWatch {
        ExploreWatch { bar, sigint: Sigint::catch(Some(EXIT_INTERRUPTED)) }
    }

    /// After `done` schedules: whether to go on.
    pub(crate) fn ran(&self, done: usize) -> ControlFlow<()> {
        self.bar.set_position(done as u64);
        if self.sigint.caught() {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }
}

/// Standard error as indicatif draws on it, but narrower by a few columns. indicatif pads
/// its last line to the right edge (so that what others print starts a new line); the
/// `^C` that the terminal echoes at Ctrl-C would then wrap onto the next line, and the bar
/// cleared at the end would be that line, not the bar's. Stopping short of the edge keeps
/// the echo on the bar's line.
#[derive(Debug)]
struct ShortOfTheEdge(console::Term);

/// Columns left free at the right edge: room for `^C`.
const MARGIN: u16 = 4;

impl TermLike for ShortOfTheEdge {
    fn width(&self) -> u16 {
        self.0.size().1.saturating_sub(MARGIN).max(1)
    }
    fn height(&self) -> u16 {
        self.0.size().0
    }
    fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_up(n)
    }
    fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_down(n)
    }
    fn move_cursor_right(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_right(n)
    }
    fn move_cursor_left(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_left(n)
    }
    fn write_line(&self, s: &str) -> std::io::Result<()> {
        self.0.write_line(s)
    }
    fn write_str(&self, s: &str) -> std::io::Result<()> {
        self.0.write_str(s)
    }
    fn clear_line(&self) -> std::io::Result<()> {
        self.0.clear_line()
    }
    fn flush(&self) -> std::io::Result<()> {
        self.0.flush()
    }
}

impl Drop for ExploreWatch {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctrl_c_stops_after_the_run_in_progress() {
        let watch = ExploreWatch::with_bar(ProgressBar::hidden());
        assert_eq!(watch.ran(1), ControlFlow::Continue(()));
        // One Ctrl-C: caught, so the process goes on; the exploration stops.
        signal_hook::low_level::raise(signal_hook::consts::SIGINT).unwrap();
        assert_eq!(watch.ran(2), ControlFlow::Break(()));
        assert_eq!(watch.bar.position(), 2);
    }
}
