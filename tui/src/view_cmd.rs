//! `mpisim view TRACE`: a trace saved with `--trace FILE`, in the terminal UI. The file is
//! read within a size cap and checked whole ([`mpisim::Trace::load`]) before the terminal is
//! touched, so a bad file is an error naming its first bad event, never a panic on screen.

use crate::app::{run_title, App};
use clap::Parser;
use mpisim::catalogue::parse_bytes;
use mpisim::report::EXIT_USAGE;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "mpisim view",
    about = "Explore a trace saved with `mpisim run … --trace FILE` in the terminal UI",
    disable_version_flag = true
)]
struct Cli {
    /// The trace (mpisim's JSON; a Chrome trace opens in Perfetto instead).
    trace: PathBuf,
    /// Clicks select ranks and move the cursor; the wheel scrolls ranks.
    #[arg(long)]
    mouse: bool,
    /// The largest file to read (`512MiB`, `4GiB`); a larger one is refused unread.
    #[arg(long, value_name = "SIZE", default_value = "1GiB", value_parser = size)]
    max_size: u64,
}

fn size(text: &str) -> Result<u64, String> {
    parse_bytes(text).ok_or_else(|| format!("`{text}` is not a size (try 512MiB or 4GiB)"))
}

/// `mpisim view ARGS…`; returns the exit code.
pub fn main(args: &[String]) -> i32 {
    let cli = match Cli::try_parse_from(std::iter::once("mpisim view".to_string()).chain(args.iter().cloned())) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { EXIT_USAGE } else { 0 };
        }
    };
    match open(&cli.trace, cli.max_size) {
        Ok(app) => match crate::run(app, cli.mouse) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("error: terminal UI: {e}");
                EXIT_USAGE
            }
        },
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_USAGE
        }
    }
}

/// The viewer of the trace file at `path`, or why it cannot be shown: the file's first
/// problem, with its name (and control characters escaped, as the file may hold anything).
pub fn open(path: &std::path::Path, max_size: u64) -> Result<App, String> {
    let saved = mpisim::Trace::load(path, max_size.max(1)).map_err(|e| crate::app::escape_lines(&e.to_string()))?;
    let name = path.file_name().map_or_else(|| path.display().to_string(), |f| f.to_string_lossy().into_owned());
    let title = format!("{name}: {}", run_title(&saved.trace));
    Ok(App::new(saved.trace, saved.error.as_ref(), &saved.warnings, title))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mpisim::trace::MAX_TRACE_FILE;

    #[test]
    fn the_default_cap_is_the_engines() {
        let cli = Cli::try_parse_from(["mpisim view", "t.json"]).unwrap();
        assert_eq!(cli.max_size, MAX_TRACE_FILE);
        let cli = Cli::try_parse_from(["mpisim view", "t.json", "--max-size", "4GiB", "--mouse"]).unwrap();
        assert_eq!((cli.max_size, cli.mouse), (4 << 30, true));
        assert!(Cli::try_parse_from(["mpisim view", "t.json", "--max-size", "lots"]).is_err());
    }
}
