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

/// The 8-byte ring as `mpisim run ring` runs it, with the strict re-run that finds its
/// buffering hazard: the banner tells it on every screen, and the Warnings screen shows the
/// strict run's deadlock as the report does.
#[test]
fn buffering_hazard_banner_and_screen() {
    let sim = World::new(4).check_buffering(true).simulate(|c| catalogue::ring(c, 8, RingOrder::Naive));
    assert!(sim.outcome.is_ok() && !sim.warnings.is_empty(), "{:?}", sim.warnings);
    let mut app = App::new(sim.trace, None, &sim.warnings, "ring --bytes 8 · 4 ranks · default");
    let timeline = screen(&mut app);
    assert!(timeline.contains("completed, buffering hazard"), "{timeline}");
    assert!(
        timeline.contains("⚠ buffering hazard: with --strict it deadlocks, 0 → 1 → 2 → 3 → 0 · 2: why"),
        "{timeline}"
    );
    app.update(Msg::Show(Screen::Deadlock));
    let warnings = screen(&mut app);
    assert!(warnings.contains("2 Warnings"), "{warnings}");
    assert!(warnings.contains("0 → 1 → 2 → 3 → 0") && warnings.contains("ring.rs:"), "{warnings}");
    assert_snapshot!(format!("{timeline}\n{warnings}"));
}

/// A bcast and a scatter are told apart on the diagram by name, not both an unnamed `≡`.
#[test]
fn collectives_are_named_on_the_diagram() {
    let mut app = app_of("bcast, scatter", 4, |c| {
        let data = vec![7u64; 1024];
        let v = c.bcast(if c.rank() == 0 { Some(&data) } else { None }, 0);
        let parts: Vec<u64> = (0..4).collect();
        let mine = c.scatter(if c.rank() == 0 { Some(&parts[..]) } else { None }, 0);
        c.barrier();
        v[0] + mine
    });
    let shown = screen(&mut app);
    for name in ["Bcast", "Scatter"] {
        assert!(shown.contains(&format!("{name}≡")), "{name} is named:\n{shown}");
    }
    assert_snapshot!(shown);
}

/// The deadlocked ring received nothing: its matrix says so, and shows the requests to send
/// that never became data apart.
#[test]
fn deadlocked_ring_matrix_counts_nothing_received() {
    let mut app = ring(1 << 20);
    app.update(Msg::Show(Screen::Matrix));
    let shown = screen(&mut app);
    assert!(!shown.contains("received 1 MiB"), "{shown}");
    assert!(shown.contains("received nothing") && shown.contains("never received"), "{shown}");
    assert_snapshot!(shown);
}

/// What a program prints reaches the screen escaped: an `ESC [2J` would clear it, an
/// `ESC ]0;` set the terminal's title.
#[test]
fn printed_control_characters_are_shown_escaped() {
    let mut app = app_of("print", 2, |c| c.print("\x1b[2J\x1b]0;pwned\x07 hello"));
    let print = app.trace.events.iter().position(|e| matches!(e.kind, mpisim::EventKind::Print { .. })).unwrap();
    app.update(Msg::First);
    while app.cursor <= print {
        app.update(Msg::StepForward);
    }
    let shown = screen(&mut app);
    assert!(shown.contains(r"prints: \x1b[2J\x1b]0;pwned\x07"), "{shown}");
    let terminal = terminal(&mut app, Theme::MONO);
    let buffer = terminal.backend().buffer();
    assert!(buffer.content.iter().all(|c| !c.symbol().chars().any(char::is_control)), "{shown}");
}
