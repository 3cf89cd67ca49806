//! The model and its update: what the UI shows, and how each message changes it.
//!
//! Elm-style: [`App`] is the model (the trace, its timeline, and the viewer's state),
//! [`Msg`] the messages keys, mouse and timer turn into, [`App::update`] the only place the
//! model changes, and `view` (in `crate::view`) a pure function of the model.

use crate::layout::{self, Areas};
use mpisim::escape::escape_control;
use mpisim::timeline::{Axis, Timeline};
use mpisim::{DeadlockReport, EventKind, Rank, SimError, Time, Trace, Warning};
use std::borrow::Cow;

/// How the run ended, as far as the viewer knows.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Every rank returned.
    Completed,
    /// The run deadlocked; the engine's report.
    Deadlock(Box<DeadlockReport>),
    /// A rank failed, aborted or a limit stopped the run: the engine's message (its control
    /// characters escaped, line by line).
    Failed(String),
    /// A saved trace that does not say; some ranks were still in calls at its end.
    Unfinished,
}

impl Outcome {
    /// The outcome of a run from its trace and error.
    pub fn new(tl: &Timeline, error: Option<&SimError>) -> Outcome {
        match error {
            Some(SimError::Deadlock(d)) => Outcome::Deadlock(Box::new(d.clone())),
            Some(e) => Outcome::Failed(escape_lines(&e.to_string())),
            None if tl.exits.iter().all(Option::is_some) => Outcome::Completed,
            None => Outcome::Unfinished,
        }
    }

    /// Whether the run ended with ranks stuck in calls.
    pub fn is_stuck(&self) -> bool {
        matches!(self, Outcome::Deadlock(_) | Outcome::Unfinished)
    }
}

/// The screens of the UI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Screen {
    /// The space-time diagram with the inspector and the ranks' queues.
    Timeline,
    /// The deadlock: the wait-for edges and every blocked call.
    Deadlock,
    /// Bytes between pairs of ranks.
    Matrix,
    /// Time per state per rank.
    Summary,
}

impl Screen {
    /// Every screen, in tab order.
    pub const ALL: [Screen; 4] = [Screen::Timeline, Screen::Deadlock, Screen::Matrix, Screen::Summary];

    /// Its tab title.
    pub fn title(self) -> &'static str {
        match self {
            Screen::Timeline => "Timeline",
            Screen::Deadlock => "Deadlock",
            Screen::Matrix => "Matrix",
            Screen::Summary => "Summary",
        }
    }
}

/// Everything that can happen to the UI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Msg {
    /// One event forward.
    StepForward,
    /// One event back.
    StepBack,
    /// To the next event of the selected rank.
    RankEventNext,
    /// To the previous event of the selected rank.
    RankEventPrev,
    /// To the start of the trace.
    First,
    /// To the end of the trace.
    Last,
    /// Play or pause.
    TogglePlay,
    /// Play twice as fast.
    Faster,
    /// Play half as fast.
    Slower,
    /// Time passed (milliseconds of wall clock) while playing.
    Tick(u32),
    /// Halve the window around the cursor.
    ZoomIn,
    /// Double the window.
    ZoomOut,
    /// Move the window back by a quarter of its width.
    PanLeft,
    /// Move the window forward.
    PanRight,
    /// Fit the whole run in the window.
    Fit,
    /// Switch the horizontal axis between virtual time and event order.
    ToggleAxis,
    /// Select the rank above.
    RankUp,
    /// Select the rank below.
    RankDown,
    /// Select a page of ranks up.
    PageUp,
    /// Select a page of ranks down.
    PageDown,
    /// Start typing a rank filter.
    FilterStart,
    /// A character of the filter.
    FilterChar(char),
    /// Erase the last character of the filter.
    FilterBackspace,
    /// Apply the typed filter.
    FilterApply,
    /// Select the next message of the selected rank.
    MessageNext,
    /// Select the previous message of the selected rank.
    MessagePrev,
    /// Show a screen.
    Show(Screen),
    /// The next screen.
    NextScreen,
    /// The previous screen.
    PrevScreen,
    /// Show or hide the keys.
    ToggleHelp,
    /// Close what is open (help, filter input, message selection, another screen).
    Escape,
    /// Leave the UI.
    Quit,
    /// The terminal has a new size.
    Resize(u16, u16),
    /// A mouse click at a terminal cell.
    Click(u16, u16),
    /// The mouse wheel turned up.
    WheelUp,
    /// The mouse wheel turned down.
    WheelDown,
}

/// Whether the UI goes on after an update.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    /// Keep running.
    Continue,
    /// Leave.
    Quit,
}

/// Playback speeds, in events per second.
pub const SPEEDS: [u32; 11] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

/// The model: the run and the viewer's state.
#[derive(Clone, Debug)]
pub struct App {
    /// The run's trace, its strings (printed lines, file names, names of the program and
    /// the platform) with their control characters escaped.
    pub trace: Trace,
    /// The trace, indexed.
    pub tl: Timeline,
    /// How the run ended.
    pub outcome: Outcome,
    /// The warnings of a run that completed: a buffering hazard (with the deadlock of its
    /// strict re-run), messages never received, requests never completed.
    pub warnings: Vec<Warning>,
    /// What was run, for the title.
    pub title: String,
    /// How many events have happened (`0..=events`).
    pub cursor: usize,
    /// The selected rank.
    pub selected: Rank,
    /// The ranks shown, in order (all, or those the filter keeps).
    pub rows: Vec<Rank>,
    /// First shown row (index into `rows`).
    pub scroll: usize,
    /// The applied filter, as typed.
    pub filter: Option<String>,
    /// The filter being typed.
    pub input: Option<String>,
    /// What the diagram's horizontal axis measures.
    pub axis: Axis,
    /// The diagram's window on its axis: `[start, end)` in nanoseconds or events.
    pub window: (u64, u64),
    /// Whether playback runs.
    pub playing: bool,
    /// Index into [`SPEEDS`].
    pub speed: usize,
    /// Playback progress towards the next event, in event-milliseconds.
    pub play_progress: u64,
    /// The screen shown.
    pub screen: Screen,
    /// Whether the help overlay is shown.
    pub help: bool,
    /// The selected message (index into the timeline's messages).
    pub message: Option<usize>,
    /// A one-line notice (filter errors, the end of the trace).
    pub notice: Option<String>,
    /// The size of the region the viewer draws in (the whole terminal, unless embedded).
    pub size: (u16, u16),
    /// Where that region starts on the terminal.
    pub origin: (u16, u16),
    /// Drawn inside another screen (the lesson browser): no title, tabs, footer or help of
    /// its own; the host draws those.
    pub embedded: bool,
}

impl App {
    /// A viewer of `trace` (one the engine wrote, or one [`Trace::validate`] accepted), at
    /// the end of the run with the whole run in view.
    pub fn new(trace: Trace, error: Option<&SimError>, warnings: &[Warning], title: impl Into<String>) -> App {
        let trace = escaped(trace);
        let tl = Timeline::new(&trace);
        let outcome = Outcome::new(&tl, error);
        let rows: Vec<Rank> = (0..trace.ranks).collect();
        let cursor = tl.event_count;
        // A run that took no virtual time (a deadlock at t = 0) reads in event order.
        let axis = if tl.end == Time::ZERO { Axis::Events } else { Axis::Time };
        let mut app = App {
            trace,
            tl,
            outcome,
            warnings: warnings.to_vec(),
            title: escape_control(&title.into()).into_owned(),
            cursor,
            selected: 0,
            rows,
            scroll: 0,
            filter: None,
            input: None,
            axis,
            window: (0, 1),
            playing: false,
            speed: 3,
            play_progress: 0,
            screen: Screen::Timeline,
            help: false,
            message: None,
            notice: None,
            size: (80, 24),
            origin: (0, 0),
            embedded: false,
        };
        app.window = app.fit_window();
        app
    }

    /// The window that shows the whole run (and a little room after its last event).
    pub fn fit_window(&self) -> (u64, u64) {
        let end = self.tl.extent(self.axis);
        let span = match self.axis {
            Axis::Time if end == 0 => 1_000,
            _ => end.saturating_add(end / 40).saturating_add(1),
        };
        (0, span)
    }

    /// Puts the viewer in the region of `size` at `origin` on the terminal.
    pub fn place(&mut self, origin: (u16, u16), size: (u16, u16)) {
        self.origin = origin;
        self.update(Msg::Resize(size.0, size.1));
    }

    /// Moves the cursor to `cursor` and selects `rank` and `message` (as a lesson's pointer
    /// says), with the window following.
    pub fn look_at(&mut self, cursor: usize, rank: Option<Rank>, message: Option<usize>) {
        self.move_cursor(cursor);
        if let Some(rank) = rank.filter(|r| *r < self.tl.ranks) {
            if !self.rows.contains(&rank) {
                self.apply_filter("all");
            }
            self.select_row(self.rows.iter().position(|&r| r == rank).unwrap_or(0));
        }
        self.message = message.filter(|&m| m < self.tl.messages.len());
    }

    /// The virtual time of the cursor.
    pub fn now(&self) -> Time {
        self.tl.time_at(self.cursor)
    }

    /// The cursor's place on the diagram's axis.
    pub fn position(&self) -> u64 {
        self.tl.position(self.axis, self.cursor)
    }

    /// Events per second of playback.
    pub fn speed(&self) -> u32 {
        SPEEDS[self.speed]
    }

    /// Where everything goes on the current terminal.
    pub fn areas(&self) -> Areas {
        layout::areas(self)
    }

    /// Changes the model by one message.
    pub fn update(&mut self, msg: Msg) -> Control {
        if !matches!(msg, Msg::Tick(_)) {
            self.notice = None;
        }
        match msg {
            Msg::StepForward => self.move_cursor(self.cursor + 1),
            Msg::StepBack => self.move_cursor(self.cursor.saturating_sub(1)),
            Msg::RankEventNext => match self.tl.next_rank_cursor(self.selected, self.cursor) {
                Some(c) => self.move_cursor(c),
                None => self.notice = Some(format!("rank {} has no later event", self.selected)),
            },
            Msg::RankEventPrev => match self.tl.prev_rank_cursor(self.selected, self.cursor) {
                Some(c) => self.move_cursor(c),
                None => {
                    self.move_cursor(0);
                    self.notice = Some(format!("rank {} has no earlier event", self.selected));
                }
            },
            Msg::First => self.move_cursor(0),
            Msg::Last => self.move_cursor(self.tl.event_count),
            Msg::TogglePlay => {
                if !self.playing && self.cursor >= self.tl.event_count {
                    self.move_cursor(0);
                }
                self.playing = !self.playing;
                self.play_progress = 0;
            }
            Msg::Faster => self.speed = (self.speed + 1).min(SPEEDS.len() - 1),
            Msg::Slower => self.speed = self.speed.saturating_sub(1),
            Msg::Tick(ms) => {
                if self.playing {
                    self.play_progress += u64::from(ms) * u64::from(self.speed());
                    let steps = (self.play_progress / 1000) as usize;
                    self.play_progress %= 1000;
                    if steps > 0 {
                        self.move_cursor(self.cursor + steps);
                    }
                    if self.cursor >= self.tl.event_count {
                        self.playing = false;
                        self.notice = Some("end of the trace".into());
                    }
                }
            }
            Msg::ZoomIn => self.zoom(0.5),
            Msg::ZoomOut => self.zoom(2.0),
            Msg::PanLeft => self.pan(false),
            Msg::PanRight => self.pan(true),
            Msg::Fit => self.window = self.fit_window(),
            Msg::ToggleAxis => {
                self.axis = match self.axis {
                    Axis::Time => Axis::Events,
                    Axis::Events => Axis::Time,
                };
                self.window = self.fit_window();
            }
            Msg::RankUp => self.select_row(self.row_of_selected().saturating_sub(1)),
            Msg::RankDown => self.select_row(self.row_of_selected() + 1),
            Msg::PageUp => self.select_row(self.row_of_selected().saturating_sub(self.page())),
            Msg::PageDown => self.select_row(self.row_of_selected() + self.page()),
            Msg::FilterStart => self.input = Some(String::new()),
            Msg::FilterChar(c) => {
                if let Some(input) = &mut self.input {
                    input.push(c);
                }
            }
            Msg::FilterBackspace => {
                if let Some(input) = &mut self.input {
                    input.pop();
                }
            }
            Msg::FilterApply => {
                if let Some(text) = self.input.take() {
                    self.apply_filter(&text);
                }
            }
            Msg::MessageNext => self.step_message(true),
            Msg::MessagePrev => self.step_message(false),
            Msg::Show(screen) => self.screen = screen,
            Msg::NextScreen | Msg::PrevScreen => {
                let i = Screen::ALL.iter().position(|s| *s == self.screen).unwrap_or(0);
                let n = Screen::ALL.len();
                let i = if msg == Msg::NextScreen { (i + 1) % n } else { (i + n - 1) % n };
                self.screen = Screen::ALL[i];
            }
            Msg::ToggleHelp => self.help = !self.help,
            Msg::Escape => {
                if self.help {
                    self.help = false;
                } else if self.input.is_some() {
                    self.input = None;
                } else if self.message.is_some() {
                    self.message = None;
                } else if self.screen != Screen::Timeline {
                    self.screen = Screen::Timeline;
                }
            }
            Msg::Quit => return Control::Quit,
            Msg::Resize(w, h) => {
                self.size = (w, h);
                self.keep_selected_visible();
            }
            Msg::Click(x, y) => self.click(x, y),
            Msg::WheelUp => self.select_row(self.row_of_selected().saturating_sub(3)),
            Msg::WheelDown => self.select_row(self.row_of_selected() + 3),
        }
        Control::Continue
    }

    fn move_cursor(&mut self, cursor: usize) {
        self.cursor = cursor.min(self.tl.event_count);
        self.message = None;
        self.follow_cursor();
    }

    /// Pans the window so the cursor is in it.
    fn follow_cursor(&mut self) {
        let now = self.position();
        let (t0, t1) = self.window;
        let width = t1 - t0;
        if now < t0 {
            let start = now.saturating_sub(width / 10);
            self.window = (start, start.saturating_add(width));
        } else if now >= t1 {
            let start = now.saturating_sub((u128::from(width) * 9 / 10) as u64);
            self.window = (start, start.saturating_add(width));
        }
    }

    fn zoom(&mut self, factor: f64) {
        let (t0, t1) = self.window;
        let width = ((t1 - t0) as f64 * factor).round() as u64;
        // No narrower than a nanosecond per column (or a few events); no wider than four
        // times the whole run.
        let narrowest = match self.axis {
            Axis::Time => u64::from(self.areas().diagram_columns.max(1)),
            Axis::Events => 4,
        };
        let width = width.clamp(narrowest, self.fit_window().1.max(narrowest).saturating_mul(4));
        let start = self.position().saturating_sub(width / 2);
        self.window = (start, start.saturating_add(width));
    }

    fn pan(&mut self, forward: bool) {
        let (t0, t1) = self.window;
        let step = ((t1 - t0) / 4).max(1);
        self.window = if forward && t1.checked_add(step).is_some() {
            (t0 + step, t1 + step)
        } else if forward {
            (t0, t1)
        } else {
            let start = t0.saturating_sub(step);
            (start, start + (t1 - t0))
        };
    }

    fn row_of_selected(&self) -> usize {
        self.rows.iter().position(|&r| r == self.selected).unwrap_or(0)
    }

    /// Rows of ranks one page holds.
    fn page(&self) -> usize {
        self.areas().visible_rows.max(1)
    }

    fn select_row(&mut self, row: usize) {
        if let Some(&rank) = self.rows.get(row.min(self.rows.len().saturating_sub(1))) {
            self.selected = rank;
            self.message = None;
        }
        self.keep_selected_visible();
    }

    fn keep_selected_visible(&mut self) {
        let row = self.row_of_selected();
        let page = self.page();
        if row < self.scroll {
            self.scroll = row;
        } else if row >= self.scroll + page {
            self.scroll = row + 1 - page;
        }
        self.scroll = self.scroll.min(self.rows.len().saturating_sub(page));
    }

    /// Keeps the ranks `text` names: `0-7,12`, `blocked`, `peers` (the selected rank and
    /// those it exchanged messages with); empty or `all` keeps every rank.
    fn apply_filter(&mut self, text: &str) {
        match parse_filter(text, self) {
            Ok(None) => {
                self.filter = None;
                self.rows = (0..self.tl.ranks).collect();
            }
            Ok(Some(rows)) if rows.is_empty() => {
                self.notice = Some(format!("filter `{text}` keeps no rank; the filter is unchanged"));
                return;
            }
            Ok(Some(rows)) => {
                self.filter = Some(text.trim().to_string());
                self.rows = rows;
            }
            Err(e) => {
                self.notice = Some(e);
                return;
            }
        }
        if !self.rows.contains(&self.selected) {
            self.selected = self.rows[0];
        }
        self.scroll = 0;
        self.keep_selected_visible();
    }

    /// Selects the next (or previous) message the selected rank sent or received, by send
    /// order, and moves the cursor just after its send.
    fn step_message(&mut self, forward: bool) {
        let mine = self.tl.messages_of(self.selected);
        let send_of = |m: usize| self.tl.messages[m].send_event;
        let pick = match (forward, self.message) {
            (true, Some(current)) => mine.iter().copied().find(|&m| send_of(m) > send_of(current)),
            (true, None) => mine.iter().copied().find(|&m| send_of(m) + 1 >= self.cursor),
            (false, Some(current)) => mine.iter().rev().copied().find(|&m| send_of(m) < send_of(current)),
            (false, None) => mine.iter().rev().copied().find(|&m| send_of(m) + 1 < self.cursor),
        };
        match pick {
            Some(m) => {
                self.move_cursor(send_of(m) + 1);
                self.message = Some(m);
            }
            None => {
                self.notice =
                    Some(format!("rank {} has no {} message", self.selected, if forward { "later" } else { "earlier" }))
            }
        }
    }

    fn click(&mut self, x: u16, y: u16) {
        let areas = self.areas();
        if self.screen != Screen::Timeline || self.help {
            return;
        }
        let d = areas.diagram;
        if x < d.x || x >= d.x + d.width || y < d.y + areas.axis_rows || y >= d.y + d.height {
            return;
        }
        let line = (y - d.y - areas.axis_rows) as usize;
        if line % areas.row_pitch == 0 {
            let row = self.scroll + line / areas.row_pitch;
            if row < self.rows.len() {
                self.selected = self.rows[row];
                self.message = None;
            }
        }
        if x >= d.x + areas.gutter {
            let column = u64::from(x - d.x - areas.gutter);
            let (t0, t1) = self.window;
            let columns = u64::from(areas.diagram_columns.max(1));
            let at = t0 + ((u128::from(t1 - t0) * u128::from(column)) / u128::from(columns)) as u64;
            // The cursor goes after the last event at or before the clicked point.
            let cursor = match self.axis {
                Axis::Time => self.trace.events.partition_point(|e| e.time.as_nanos() <= at),
                Axis::Events => at as usize + 1,
            };
            self.move_cursor(cursor);
        }
    }
}

/// What ran, in a few words for a title: `ring --bytes 8 · 4 ranks · default`, with
/// `strict` if it ran so.
pub fn run_title(trace: &Trace) -> String {
    let params: String = trace.params.iter().map(|(k, v)| format!(" --{k} {v}")).collect();
    let program = if trace.program.is_empty() { String::new() } else { format!("{}{params} · ", trace.program) };
    let strict = if trace.strict { " · strict" } else { "" };
    let ranks = trace.ranks;
    format!("{program}{ranks} rank{} · {}{strict}", if ranks == 1 { "" } else { "s" }, trace.platform.name)
}

/// `text` with each line's control characters escaped, its line breaks kept.
pub fn escape_lines(text: &str) -> String {
    text.split('\n').map(escape_control).collect::<Vec<_>>().join("\n")
}

/// The trace with every string a viewer shows escaped: what ranks printed, file names,
/// the program, its parameters and the platform's name. A trace read from a file may hold
/// anything; on screen it must read as text and never act on the terminal.
fn escaped(mut trace: Trace) -> Trace {
    let fix = |s: &mut String| {
        if let Cow::Owned(e) = escape_control(s) {
            *s = e;
        }
    };
    fix(&mut trace.program);
    for (k, v) in &mut trace.params {
        fix(k);
        fix(v);
    }
    fix(&mut trace.platform.name);
    for event in &mut trace.events {
        match &mut event.kind {
            EventKind::Print { text } => fix(text),
            EventKind::Enter { site, .. } => {
                if let Cow::Owned(e) = escape_control(&site.file) {
                    site.file = Cow::Owned(e);
                }
            }
            _ => {}
        }
    }
    trace
}

/// Parses a rank filter: `None` keeps every rank.
fn parse_filter(text: &str, app: &App) -> Result<Option<Vec<Rank>>, String> {
    let text = text.trim();
    if text.is_empty() || text == "all" {
        return Ok(None);
    }
    let n = app.tl.ranks;
    let mut keep = vec![false; n];
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match item {
            "blocked" => {
                for c in app.tl.unfinished() {
                    keep[app.tl.calls[c].rank] = true;
                }
            }
            "peers" => {
                keep[app.selected] = true;
                for p in app.tl.peers_of(app.selected) {
                    keep[p] = true;
                }
            }
            _ => {
                let (a, b) = item.split_once('-').unwrap_or((item, item));
                let parse = |s: &str| -> Result<Rank, String> {
                    s.trim().parse::<Rank>().map_err(|_| {
                        format!("filter: `{item}` is not a rank, a range like 0-7, `blocked`, `peers` or `all`")
                    })
                };
                let (a, b) = (parse(a)?, parse(b)?);
                if a > b || b >= n {
                    return Err(format!("filter: `{item}` is outside ranks 0-{}", n.saturating_sub(1)));
                }
                for k in &mut keep[a..=b] {
                    *k = true;
                }
            }
        }
    }
    Ok(Some((0..n).filter(|&r| keep[r]).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mpisim::catalogue::{self, RingOrder};
    use mpisim::World;

    fn ring(ranks: usize, bytes: u64) -> App {
        let sim = World::new(ranks).simulate(|c| catalogue::ring(c, bytes, RingOrder::Naive));
        let error = sim.outcome.as_ref().err().cloned();
        App::new(sim.trace, error.as_ref(), &sim.warnings, "ring")
    }

    #[test]
    fn opens_at_the_end_with_the_whole_run_in_view() {
        let app = ring(4, 8);
        assert_eq!(app.cursor, app.tl.event_count);
        assert_eq!((app.axis, app.outcome.clone()), (Axis::Time, Outcome::Completed));
        assert!(app.window.0 == 0 && app.window.1 > app.tl.end.as_nanos());
        // A deadlock at t = 0 has no time to show: it opens in event order.
        let stuck = ring(4, 1 << 20);
        assert_eq!(stuck.axis, Axis::Events);
        assert!(matches!(stuck.outcome, Outcome::Deadlock(_)));
    }

    #[test]
    fn steps_stay_in_the_trace() {
        let mut app = ring(3, 8);
        let end = app.tl.event_count;
        app.update(Msg::StepForward);
        assert_eq!(app.cursor, end);
        app.update(Msg::First);
        app.update(Msg::StepBack);
        assert_eq!(app.cursor, 0);
        app.update(Msg::StepForward);
        app.update(Msg::StepForward);
        assert_eq!(app.cursor, 2);
        app.update(Msg::Last);
        assert_eq!(app.cursor, end);
    }

    #[test]
    fn rank_steps_visit_only_that_rank() {
        let mut app = ring(3, 8);
        app.update(Msg::First);
        app.update(Msg::RankDown);
        assert_eq!(app.selected, 1);
        let mut seen = Vec::new();
        loop {
            let before = app.cursor;
            app.update(Msg::RankEventNext);
            if app.cursor == before {
                break;
            }
            seen.push(app.trace.events[app.cursor - 1].rank);
        }
        assert_eq!(seen.len(), app.tl.rank_events(1).len());
        assert!(seen.iter().all(|&r| r == 1));
        assert_eq!(app.notice.as_deref(), Some("rank 1 has no later event"));
        app.update(Msg::RankEventPrev);
        assert_eq!(app.cursor, app.tl.rank_events(1)[seen.len() - 2] + 1);
    }

    #[test]
    fn playback_advances_with_time_and_stops_at_the_end() {
        let mut app = ring(3, 8);
        app.update(Msg::TogglePlay); // at the end: starts over
        assert!(app.playing);
        assert_eq!(app.cursor, 0);
        app.update(Msg::Tick(100)); // 8 events/s: 0.8 of an event
        assert_eq!(app.cursor, 0);
        app.update(Msg::Tick(100));
        assert_eq!(app.cursor, 1);
        app.update(Msg::Faster);
        assert_eq!(app.speed(), 16);
        app.update(Msg::Tick(500));
        assert_eq!(app.cursor, 9);
        app.update(Msg::Tick(60_000));
        assert_eq!((app.cursor, app.playing), (app.tl.event_count, false));
        app.update(Msg::Slower);
        app.update(Msg::Slower);
        assert_eq!(app.speed(), 4);
    }

    #[test]
    fn zoom_pan_and_fit_move_the_window() {
        let mut app = ring(3, 8);
        let fit = app.window;
        app.update(Msg::ZoomIn);
        let zoomed = app.window;
        assert!(zoomed.1 - zoomed.0 < fit.1 - fit.0);
        assert!((zoomed.0..zoomed.1).contains(&app.position()), "zoom keeps the cursor in view");
        app.update(Msg::PanRight);
        assert!(app.window.0 > zoomed.0);
        for _ in 0..10 {
            app.update(Msg::PanLeft);
        }
        assert_eq!(app.window.0, 0, "no panning before the start");
        assert_eq!(app.window.1 - app.window.0, zoomed.1 - zoomed.0, "panning keeps the width");
        for _ in 0..20 {
            app.update(Msg::ZoomIn);
        }
        assert!(app.window.1 - app.window.0 >= u64::from(app.areas().diagram_columns), "at most a column per ns");
        app.update(Msg::Fit);
        assert_eq!(app.window, fit);
        app.update(Msg::ToggleAxis);
        assert_eq!((app.axis, app.window), (Axis::Events, (0, app.tl.event_count as u64 + 1)));
    }

    #[test]
    fn stepping_pans_to_follow_the_cursor() {
        let mut app = ring(3, 8);
        app.update(Msg::First);
        for _ in 0..10 {
            app.update(Msg::ZoomIn);
        }
        app.update(Msg::Last);
        assert!((app.window.0..app.window.1).contains(&app.position()));
    }

    #[test]
    fn filters_keep_ranks_and_report_mistakes() {
        let mut app = ring(8, 1 << 20);
        let type_filter = |app: &mut App, text: &str| {
            app.update(Msg::FilterStart);
            for c in text.chars() {
                app.update(Msg::FilterChar(c));
            }
            app.update(Msg::FilterApply);
        };
        type_filter(&mut app, "2-4,7");
        assert_eq!(app.rows, vec![2, 3, 4, 7]);
        assert_eq!(app.selected, 2, "the selection moves into the filter");
        type_filter(&mut app, "");
        assert_eq!(app.rows.len(), 8);
        app.update(Msg::RankDown);
        app.update(Msg::RankDown);
        type_filter(&mut app, "peers");
        assert_eq!(app.rows, vec![3, 4, 5], "rank 4 and its neighbours");
        type_filter(&mut app, "9");
        assert_eq!(app.rows, vec![3, 4, 5], "a bad filter changes nothing");
        assert!(app.notice.as_deref().is_some_and(|n| n.contains("outside ranks 0-7")));
        type_filter(&mut app, "x");
        assert!(app.notice.as_deref().is_some_and(|n| n.contains("is not a rank")));
        type_filter(&mut app, "blocked");
        assert_eq!(app.rows.len(), 8, "every rank of the deadlocked ring is blocked");
        app.update(Msg::FilterStart);
        app.update(Msg::FilterChar('1'));
        app.update(Msg::FilterBackspace);
        app.update(Msg::Escape);
        assert_eq!(app.input, None);
    }

    #[test]
    fn messages_step_through_the_selected_rank() {
        let mut app = ring(3, 8);
        app.update(Msg::First);
        app.update(Msg::MessageNext);
        let first = app.message.expect("rank 0 sends a message");
        let msg = &app.tl.messages[first];
        assert_eq!((msg.src, app.cursor), (0, msg.send_event + 1));
        app.update(Msg::MessageNext);
        let second = app.message.expect("rank 0 receives a message");
        assert_eq!(app.tl.messages[second].dst, 0);
        app.update(Msg::MessageNext);
        assert_eq!(app.message, Some(second), "the last message stays selected");
        assert!(app.notice.is_some());
        app.update(Msg::MessagePrev);
        assert_eq!(app.message, Some(first));
        app.update(Msg::Escape);
        assert_eq!(app.message, None);
    }

    #[test]
    fn screens_cycle_and_escape_returns() {
        let mut app = ring(3, 8);
        app.update(Msg::NextScreen);
        assert_eq!(app.screen, Screen::Deadlock);
        app.update(Msg::PrevScreen);
        app.update(Msg::PrevScreen);
        assert_eq!(app.screen, Screen::Summary);
        app.update(Msg::ToggleHelp);
        app.update(Msg::Escape);
        assert!(!app.help);
        app.update(Msg::Escape);
        assert_eq!(app.screen, Screen::Timeline);
        assert_eq!(app.update(Msg::Quit), Control::Quit);
        assert_eq!(app.update(Msg::StepBack), Control::Continue);
    }

    #[test]
    fn clicks_select_ranks_and_move_the_cursor() {
        let mut app = ring(4, 8);
        app.update(Msg::Resize(80, 24));
        let a = app.areas();
        // The third rank's row (two lines per rank), at the first column of the diagram.
        let y = a.diagram.y + a.axis_rows + 2 * a.row_pitch as u16;
        app.update(Msg::Click(a.diagram.x + a.gutter, y));
        assert_eq!(app.selected, 2);
        assert_eq!(app.cursor, app.trace.events.partition_point(|e| e.time.as_nanos() == 0));
        app.update(Msg::WheelDown);
        assert_eq!(app.selected, 3);
        app.update(Msg::WheelUp);
        assert_eq!(app.selected, 0);
    }

    #[test]
    fn pages_keep_the_selection_in_view() {
        let mut app = ring(64, 8);
        app.update(Msg::Resize(80, 24));
        let page = app.areas().visible_rows;
        app.update(Msg::PageDown);
        assert_eq!(app.selected, page);
        assert!(app.scroll <= app.selected && app.selected < app.scroll + page);
        for _ in 0..10 {
            app.update(Msg::PageDown);
        }
        assert_eq!(app.selected, 63);
        assert_eq!(app.scroll, 64 - page);
        app.update(Msg::PageUp);
        assert!(app.scroll <= app.selected);
    }
}
