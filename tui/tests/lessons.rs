//! The lesson browser at 80×24 (TestBackend + insta), drawn without colour as NO_COLOR
//! terminals see it: the list with progress, a lesson screen with its step text beside the
//! run, answers and their feedback, a re-run, and small terminals.

use insta::assert_snapshot;
use mpisim_tui::browser::{Browser, BrowserMsg};
use mpisim_tui::progress::Store;
use mpisim_tui::{course, view, Msg, Theme};
use ratatui::backend::TestBackend;
use ratatui::style::Color;
use ratatui::Terminal;
use std::path::PathBuf;

/// A browser of the embedded course with its progress in a fresh directory.
fn browser(name: &str) -> (Browser, PathBuf) {
    let dir = std::env::temp_dir().join(format!("mpisim-lessons-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (lessons, errors) = course::lessons();
    assert!(errors.is_empty(), "{errors:?}");
    let mut b = Browser::new(lessons, Vec::new(), Store::at(&dir));
    b.update(BrowserMsg::Resize(80, 24));
    (b, dir)
}

fn terminal(b: &Browser, theme: Theme, (w, h): (u16, u16)) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("a test terminal");
    terminal.draw(|frame| view::lesson::view(b, theme, frame)).expect("drawing succeeds");
    terminal
}

fn screen(b: &Browser) -> String {
    terminal(b, Theme::MONO, (80, 24)).backend().to_string()
}

fn open(b: &mut Browser, id: &str) {
    let i = b.lessons.iter().position(|l| l.id == id).unwrap_or_else(|| panic!("no lesson {id}"));
    b.open(i);
}

#[test]
fn the_list_with_progress() {
    let (mut b, dir) = browser("list");
    open(&mut b, "hello");
    b.update(BrowserMsg::Choose(0)); // the second question: "None" messages is right
    b.update(BrowserMsg::NextQuestion);
    b.update(BrowserMsg::Choose(0));
    b.update(BrowserMsg::Back);
    b.update(BrowserMsg::Down);
    b.update(BrowserMsg::Down);
    let list = screen(&b);
    assert!(list.contains("1/4"), "hello has one of four questions answered:\n{list}");
    assert_snapshot!(list);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_ring_lesson_at_its_first_step() {
    let (mut b, dir) = browser("ring");
    open(&mut b, "ring-hang");
    assert_snapshot!(screen(&b));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_wrong_answer_then_the_deadlocked_step() {
    let (mut b, dir) = browser("answer");
    open(&mut b, "ring-hang");
    b.update(BrowserMsg::Choose(1)); // "It deadlocks": wrong for 8 bytes
    let wrong = screen(&b);
    assert!(wrong.contains("✗ Read the second line"), "the wrong choice's feedback:\n{wrong}");
    b.update(BrowserMsg::Choose(0));
    assert!(screen(&b).contains("✓ Right"));
    b.update(BrowserMsg::NextStep);
    assert_snapshot!(screen(&b));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_typed_answer_and_a_rerun() {
    let (mut b, dir) = browser("typed");
    open(&mut b, "ring-hang");
    b.update(BrowserMsg::NextStep);
    b.update(BrowserMsg::NextQuestion);
    b.update(BrowserMsg::Submit); // Enter: type an answer
    b.update(BrowserMsg::Char('0'));
    let typing = screen(&b);
    assert!(typing.contains("answer: 0█"), "{typing}");
    b.update(BrowserMsg::Submit);
    assert!(screen(&b).contains("✓ Right"), "{}", screen(&b));
    b.update(BrowserMsg::RerunStart);
    b.update(BrowserMsg::Suggest);
    b.update(BrowserMsg::Submit);
    let rerun = screen(&b);
    assert!(rerun.contains("re-run: ring -n 4 --bytes 64KiB"), "{rerun}");
    assert!(rerun.contains("buffering hazard"), "64 KiB is still eager:\n{rerun}");
    b.update(BrowserMsg::Restore);
    b.update(BrowserMsg::ToggleHelp);
    assert_snapshot!(screen(&b));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_run_viewer_keys_work_inside_a_lesson() {
    let (mut b, dir) = browser("keys");
    open(&mut b, "bcast");
    let at = b.screen().unwrap().app.cursor;
    b.update(BrowserMsg::Run(Msg::StepForward));
    assert_eq!(b.screen().unwrap().app.cursor, at + 1);
    b.update(BrowserMsg::Look);
    assert_eq!(b.screen().unwrap().app.cursor, at, ". goes back to the pointer");
    b.update(BrowserMsg::Run(Msg::Show(mpisim_tui::Screen::Summary)));
    assert!(screen(&b).contains("Summary"), "{}", screen(&b));
    b.update(BrowserMsg::Back);
    assert!(b.screen().is_some(), "Esc closes the summary first");
    b.update(BrowserMsg::Back);
    assert!(b.screen().is_none(), "then goes back to the list");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_lesson_draws_in_colour_and_without() {
    let (mut b, dir) = browser("colour");
    let coloured = |t: &Terminal<TestBackend>| {
        t.backend().buffer().content().iter().filter(|c| c.fg != Color::Reset || c.bg != Color::Reset).count()
    };
    assert_eq!(coloured(&terminal(&b, Theme::MONO, (80, 24))), 0);
    for i in 0..b.lessons.len() {
        b.open(i);
        loop {
            assert_eq!(coloured(&terminal(&b, Theme::MONO, (80, 24))), 0, "{} uses colour", b.lessons[i].id);
            assert!(coloured(&terminal(&b, Theme::COLOR, (80, 24))) > 0);
            let step = b.screen().unwrap().step;
            b.update(BrowserMsg::NextStep);
            if b.screen().unwrap().step == step {
                break;
            }
        }
        b.update(BrowserMsg::Back);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn small_terminals_do_not_break() {
    let (mut b, dir) = browser("small");
    for (w, h) in [(20, 6), (40, 10), (80, 12), (200, 60), (1, 1)] {
        b.update(BrowserMsg::Resize(w, h));
        terminal(&b, Theme::COLOR, (w, h));
        open(&mut b, "ring-hang");
        b.update(BrowserMsg::NextStep);
        b.update(BrowserMsg::ToggleHelp);
        terminal(&b, Theme::COLOR, (w, h));
        b.update(BrowserMsg::ToggleHelp);
        b.update(BrowserMsg::Back);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
