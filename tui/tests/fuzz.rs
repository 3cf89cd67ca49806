//! The loaders fuzzed: traces (`mpisim view`) and platform files (`--platform FILE`) as a
//! user or an editor may leave them. Two parts:
//!
//! - the corpus in `fuzz/corpus/` (at the workspace root), kept as regression tests: every
//!   `ok-*` file loads and every screen of the viewer draws it at several sizes and cursor
//!   positions; every `bad-*` file is refused with an error that names the file and holds
//!   no control character. A mutation the property below finds goes there.
//! - a property over mutated engine traces and platform files: loading never panics, and
//!   what loads, draws. Run it longer with `PROPTEST_CASES=100000 cargo test --release -p
//!   mpisim-tui --test fuzz` (see `fuzz/README.md`).

use mpisim::platform::Platform;
use mpisim::trace::MAX_TRACE_FILE;
use mpisim::Trace;
use mpisim_tui::{view, App, Msg, Screen, Theme};
use proptest::prelude::*;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn corpus(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus").join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|f| f.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 5, "the {kind} corpus in {} is there", dir.display());
    files
}

fn name(path: &Path) -> &str {
    path.file_name().and_then(|n| n.to_str()).unwrap()
}

/// Draws `app` on every screen, at 80×24 and at sizes too small for it, at its start,
/// middle and end, zoomed, on both axes, with the help open: nothing may panic, and no
/// cell may hold a control character.
fn draw_everywhere(mut app: App) {
    let draw = |app: &mut App, (w, h): (u16, u16)| {
        app.update(Msg::Resize(w, h));
        let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
        terminal.draw(|frame| view::view(app, Theme::MONO, frame)).unwrap();
        let buffer = terminal.backend().buffer();
        let bad = buffer.content.iter().find(|c| c.symbol().chars().any(char::is_control));
        assert!(bad.is_none(), "a control character is drawn:\n{}", terminal.backend());
    };
    let steps: &[&[Msg]] = &[
        &[],
        &[Msg::First],
        &[Msg::StepForward, Msg::StepForward, Msg::RankDown, Msg::MessageNext],
        &[Msg::ZoomIn, Msg::ZoomIn, Msg::PanRight, Msg::ToggleAxis],
        &[Msg::Last, Msg::MessagePrev, Msg::ZoomOut, Msg::PanLeft, Msg::PageDown],
        &[Msg::ToggleAxis, Msg::Fit, Msg::StepBack, Msg::RankEventPrev],
    ];
    for msgs in steps {
        for msg in msgs.iter().cloned() {
            app.update(msg);
        }
        for screen in Screen::ALL {
            app.update(Msg::Show(screen));
            for size in [(80, 24), (40, 10), (120, 40), (12, 4)] {
                draw(&mut app, size);
            }
        }
    }
    app.update(Msg::ToggleHelp);
    draw(&mut app, (80, 24));
}

#[test]
fn trace_corpus() {
    for path in corpus("trace") {
        let file = name(&path);
        let opened = mpisim_tui::view_cmd::open(&path, MAX_TRACE_FILE);
        match (file.starts_with("ok-"), opened) {
            (true, Ok(app)) => draw_everywhere(app),
            (true, Err(e)) => panic!("{file} is refused: {e}"),
            (false, Ok(_)) => panic!("{file} is accepted"),
            (false, Err(e)) => {
                assert!(e.contains(file), "{file}: the error names the file: {e}");
                assert!(!e.chars().any(|c| c.is_control() && c != '\n'), "{file}: {e:?}");
                assert!(e.len() < 2000, "{file}: a short error, not {} bytes", e.len());
            }
        }
    }
}

#[test]
fn platform_corpus() {
    for path in corpus("platform") {
        let file = name(&path);
        match (file.starts_with("ok-"), Platform::load(&path)) {
            (true, Ok(_)) => {}
            (true, Err(e)) => panic!("{file} is refused: {e}"),
            (false, Ok(p)) => panic!("{file} is accepted: {p:?}"),
            (false, Err(e)) => {
                let e = e.to_string();
                assert!(e.contains(file), "{file}: the error names the file: {e}");
                assert!(!e.chars().any(|c| c.is_control() && c != '\n'), "{file}: {e:?}");
                assert!(e.len() < 2000, "{file}: a short error, not {} bytes", e.len());
            }
        }
    }
}

/// The corpus's engine traces, as JSON values to mutate.
fn seeds() -> Vec<Value> {
    corpus("trace")
        .iter()
        .filter(|p| name(p).starts_with("ok-"))
        .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
        .collect()
}

/// Every number in `v`, as a mutable reference.
fn numbers(v: &mut Value) -> Vec<&mut Value> {
    match v {
        Value::Number(_) => vec![v],
        Value::Array(items) => items.iter_mut().flat_map(numbers).collect(),
        Value::Object(map) => map.values_mut().flat_map(numbers).collect(),
        _ => Vec::new(),
    }
}

/// One edit of a trace: a number replaced, an event removed, repeated or moved, or the
/// text cut or one byte changed.
#[derive(Clone, Debug)]
enum Edit {
    Number { at: usize, value: u64 },
    Remove { at: usize },
    Repeat { at: usize },
    Swap { a: usize, b: usize },
    Cut { at: usize },
    Byte { at: usize, byte: u8 },
}

fn edit() -> impl Strategy<Value = Edit> {
    let value = prop_oneof![
        Just(0u64),
        Just(1),
        Just(3),
        Just(4),
        Just(77),
        Just(u64::from(u32::MAX)),
        Just(i64::MAX as u64),
        Just(u64::MAX),
        any::<u64>()
    ];
    prop_oneof![
        4 => (any::<usize>(), value).prop_map(|(at, value)| Edit::Number { at, value }),
        1 => any::<usize>().prop_map(|at| Edit::Remove { at }),
        1 => any::<usize>().prop_map(|at| Edit::Repeat { at }),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::Swap { a, b }),
        1 => any::<usize>().prop_map(|at| Edit::Cut { at }),
        1 => (any::<usize>(), 0x20u8..0x7f).prop_map(|(at, byte)| Edit::Byte { at, byte }),
    ]
}

/// `seed` with the edits made, as text.
fn mutated(mut seed: Value, edits: &[Edit]) -> String {
    let mut text = None;
    for e in edits {
        let events = seed["events"].as_array_mut().map(|a| a.len()).unwrap_or(0);
        match *e {
            Edit::Number { at, value } => {
                let mut all = numbers(&mut seed);
                let n = all.len();
                if n > 0 {
                    *all[at % n] = value.into();
                }
            }
            Edit::Remove { at } if events > 0 => {
                seed["events"].as_array_mut().unwrap().remove(at % events);
            }
            Edit::Repeat { at } if events > 0 => {
                let list = seed["events"].as_array_mut().unwrap();
                let again = list[at % events].clone();
                list.insert(at % events, again);
            }
            Edit::Swap { a, b } if events > 0 => seed["events"].as_array_mut().unwrap().swap(a % events, b % events),
            Edit::Cut { at } => {
                let t = text.take().unwrap_or_else(|| seed.to_string());
                text = Some(t[..at % t.len().max(1)].to_string());
            }
            Edit::Byte { at, byte } => {
                let mut t = text.take().unwrap_or_else(|| seed.to_string()).into_bytes();
                if !t.is_empty() {
                    let n = t.len();
                    t[at % n] = byte;
                }
                text = Some(String::from_utf8_lossy(&t).into_owned());
            }
            _ => {}
        }
    }
    text.unwrap_or_else(|| seed.to_string())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// A mutated trace is refused with a message, or accepted and drawn; never a panic.
    #[test]
    fn mutated_traces_are_refused_or_drawn(seed in 0usize..64, edits in prop::collection::vec(edit(), 1..4)) {
        let seeds = seeds();
        let text = mutated(seeds[seed % seeds.len()].clone(), &edits);
        match Trace::from_json_with_outcome(&text) {
            Ok(saved) => draw_everywhere(App::new(saved.trace, saved.error.as_ref(), &saved.warnings, "fuzz")),
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    /// A mutated platform file is refused with its line and column, or accepted.
    #[test]
    fn mutated_platform_files_never_panic(
        seed in 0usize..8,
        cut in any::<usize>(),
        bytes in prop::collection::vec((any::<usize>(), 0x20u8..0x7f), 0..4),
    ) {
        let files: Vec<PathBuf> = corpus("platform").into_iter().filter(|p| name(p).starts_with("ok-")).collect();
        let mut text = std::fs::read(&files[seed % files.len()]).unwrap();
        for (at, byte) in bytes {
            let n = text.len();
            text[at % n] = byte;
        }
        let keep = text.len() - cut % (text.len() / 4).max(1);
        let text = String::from_utf8_lossy(&text[..keep]).into_owned();
        if let Err(e) = Platform::from_ron(&text, "fuzz.ron") {
            prop_assert!(e.to_string().contains("fuzz.ron"), "{e}");
        }
    }
}
