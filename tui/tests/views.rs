//! Snapshots of the main screens at 80×24 (TestBackend + insta), drawn without colour as
//! NO_COLOR terminals see them, and checks that colour follows the theme.

use insta::assert_snapshot;
use mpisim::catalogue::{self, RingOrder};
use mpisim::World;
use mpisim_tui::{view, App, Msg, Screen, Theme};
use ratatui::backend::TestBackend;
use ratatui::style::Color;
use ratatui::Terminal;

fn app_of<R>(title: &str, ranks: usize, program: impl Fn(&mpisim::Comm) -> R) -> App {
    let sim = World::new(ranks).simulate(program);
    let error = sim.outcome.as_ref().err().cloned();
    App::new(sim.trace, error.as_ref(), &sim.warnings, title)
}

fn ring(bytes: u64) -> App {
    app_of(&format!("ring --bytes {bytes}"), 4, move |c| catalogue::ring(c, bytes, RingOrder::Naive))
}

fn terminal(app: &mut App, theme: Theme) -> Terminal<TestBackend> {
    let (w, h) = (80, 24);
    app.update(Msg::Resize(w, h));
    let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("a test terminal");
    terminal.draw(|frame| view::view(app, theme, frame)).expect("drawing succeeds");
    terminal
}

#[track_caller]
fn screen(app: &mut App) -> String {
    terminal(app, Theme::MONO).backend().to_string()
}

#[test]
fn completed_ring() {
    assert_snapshot!(screen(&mut ring(8)));
}

#[test]
fn completed_ring_mid_run() {
    let mut app = ring(8);
    app.update(Msg::First);
    // To the moment rank 3 sends: the other messages are in flight or arrived.
    let sent_by_r3 = |app: &mpisim_tui::App| {
        app.cursor > 0
            && app.trace.events[app.cursor - 1].rank == 3
            && matches!(app.trace.events[app.cursor - 1].kind, mpisim::EventKind::Send { .. })
    };
    while !sent_by_r3(&app) {
        app.update(Msg::StepForward);
    }
    app.update(Msg::RankDown);
    assert_snapshot!(screen(&mut app));
}

#[test]
fn deadlocked_ring() {
    assert_snapshot!(screen(&mut ring(1 << 20)));
}

#[test]
fn deadlocked_ring_stepped_back() {
    let mut app = ring(1 << 20);
    for _ in 0..7 {
        app.update(Msg::StepBack);
    }
    assert_snapshot!(screen(&mut app));
}

#[test]
fn deadlock_screen() {
    let mut app = ring(1 << 20);
    app.update(Msg::Show(Screen::Deadlock));
    assert_snapshot!(screen(&mut app));
}

/// An allreduce on 8 ranks: the algorithm's messages between ranks, grouped under the
/// collective.
#[test]
fn allreduce_on_eight_ranks() {
    let mut app = app_of("allreduce", 8, |c| c.allreduce(&(c.rank() as u64), mpisim::op::SUM));
    app.update(Msg::MessagePrev);
    assert!(app.message.is_some());
    assert_snapshot!(screen(&mut app));
}

/// Requests, a waitall, and messages in both directions.
#[test]
fn nonblocking_exchange() {
    let mut app = app_of("nonblocking", 4, catalogue::nonblocking);
    app.update(Msg::MessagePrev);
    assert!(app.message.is_some());
    assert_snapshot!(screen(&mut app));
}

#[test]
fn matrix_and_summary() {
    let mut app = app_of("pingpong", 2, |c| catalogue::pingpong(c, 1 << 16, 2));
    app.update(Msg::Show(Screen::Matrix));
    let matrix = screen(&mut app);
    app.update(Msg::Show(Screen::Summary));
    let summary = screen(&mut app);
    assert_snapshot!(format!("{matrix}\n{summary}"));
}

#[test]
fn many_ranks_scroll_and_heat_map() {
    let mut app = app_of("ring -n 64", 64, |c| catalogue::ring(c, 8, RingOrder::Naive));
    app.update(Msg::PageDown);
    app.update(Msg::PageDown);
    let timeline = screen(&mut app);
    let page = app.areas().visible_rows;
    let label = format!("▶r{:<2}", 2 * page);
    assert!(timeline.contains(&label), "paging scrolls to {label}:\n{timeline}");
    assert!(!timeline.contains("│ r0 "), "rank 0 scrolled away:\n{timeline}");
    app.update(Msg::Show(Screen::Matrix));
    assert_snapshot!(screen(&mut app));
}

#[test]
fn help_overlay() {
    let mut app = ring(8);
    app.update(Msg::ToggleHelp);
    assert_snapshot!(screen(&mut app));
}

#[test]
fn no_color_means_no_colour() {
    for mut app in [ring(8), ring(1 << 20)] {
        for screen in Screen::ALL {
            app.update(Msg::Show(screen));
            let mono = terminal(&mut app, Theme::MONO);
            let coloured = |t: &Terminal<TestBackend>| {
                t.backend().buffer().content().iter().filter(|c| c.fg != Color::Reset || c.bg != Color::Reset).count()
            };
            assert_eq!(coloured(&mono), 0, "{screen:?} uses colour without a colour theme");
            assert!(coloured(&terminal(&mut app, Theme::COLOR)) > 0, "{screen:?} has no colour in colour");
        }
    }
}

#[test]
fn small_terminals_do_not_break() {
    let mut app = ring(1 << 20);
    for (w, h) in [(20, 6), (40, 10), (80, 12), (200, 60)] {
        app.update(Msg::Resize(w, h));
        let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("a test terminal");
        for screen in Screen::ALL {
            app.update(Msg::Show(screen));
            terminal.draw(|frame| view::view(&app, Theme::COLOR, frame)).expect("drawing succeeds");
        }
    }
}
