//! The lesson browser: the model of what `mpisim` opens on. A list of the lessons with the
//! student's progress, then a lesson screen: the step's text and questions beside its run,
//! drawn by the run viewer ([`App`], embedded), whose cursor the step's "look at" pointer
//! moves. Answers are judged on the step's run and saved in the [`Store`].
//!
//! Elm-style like [`App`]: [`Browser`] is the model, [`BrowserMsg`] the messages and
//! [`Browser::update`] the only place it changes; messages for the run go to the embedded
//! [`App`]'s own update.

use crate::app::{App, Control, Msg, Screen};
use crate::progress::Store;
use mpisim::lesson::{Given, Lesson, Pointer, StepRun, Value, Verdict};

/// Everything that can happen to the browser.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BrowserMsg {
    /// Select the lesson above.
    Up,
    /// Select the lesson below.
    Down,
    /// Open the selected lesson.
    Open,
    /// The next step.
    NextStep,
    /// The previous step.
    PrevStep,
    /// The next question of the step.
    NextQuestion,
    /// Pick a choice of the current question (0 is `a`).
    Choose(usize),
    /// Start typing an answer.
    AnswerStart,
    /// Start typing flags to re-run the step with.
    RerunStart,
    /// A character of what is typed.
    Char(char),
    /// Erase the last character typed.
    Backspace,
    /// Fill in the step's next suggestion of flags.
    Suggest,
    /// Submit what is typed: the answer, or the re-run.
    Submit,
    /// Back to the step's own run after a re-run.
    Restore,
    /// Move the run's cursor to the step's pointer again.
    Look,
    /// Scroll the step's text down.
    TextDown,
    /// Scroll the step's text up.
    TextUp,
    /// Show or hide the keys.
    ToggleHelp,
    /// Close what is open, or go back to the list.
    Back,
    /// Leave.
    Quit,
    /// The terminal has a new size.
    Resize(u16, u16),
    /// A message for the run viewer.
    Run(Msg),
}

/// What the student is typing on a lesson screen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// An answer to the current question.
    Answer(String),
    /// Flags to re-run the step with.
    Rerun(String),
}

/// A lesson, open.
#[derive(Debug)]
pub struct LessonScreen {
    /// Index into the browser's lessons.
    pub lesson: usize,
    /// The step shown (0-based).
    pub step: usize,
    /// The runs of the steps up to the one shown (a question may ask about an earlier one).
    pub runs: Vec<StepRun>,
    /// The run shown, in the run viewer.
    pub app: App,
    /// A re-run with other flags, when one is shown instead of the step's own run.
    pub variant: Option<StepRun>,
    /// The question shown (0-based).
    pub question: usize,
    /// What is being typed.
    pub input: Option<Input>,
    /// The last suggestion filled in.
    pub suggestion: usize,
    /// What was said about the last answer.
    pub verdict: Option<Verdict>,
    /// Lines of the step's text scrolled away.
    pub scroll: u16,
    /// Where the step's pointer points, or why it points at nothing.
    pub pointer: Result<Pointer, String>,
}

/// The screens of the browser.
#[derive(Debug)]
pub enum View {
    /// The list of lessons.
    List,
    /// A lesson.
    Lesson(Box<LessonScreen>),
}

/// The model: the course, the student's progress, and what is shown.
#[derive(Debug)]
pub struct Browser {
    /// The lessons, in course order.
    pub lessons: Vec<Lesson>,
    /// Lessons that could not be read (shown in the list, never a crash).
    pub errors: Vec<String>,
    /// The student's progress.
    pub store: Store,
    /// The lesson selected in the list.
    pub selected: usize,
    /// What is shown.
    pub view: View,
    /// Whether the keys are shown.
    pub help: bool,
    /// A one-line notice.
    pub notice: Option<String>,
    /// The terminal size.
    pub size: (u16, u16),
}

/// Columns of the lesson text beside the run (the run takes the rest).
pub const TEXT_WIDTH: u16 = 38;

impl Browser {
    /// A browser of `lessons` (in course order) with the progress in `store`.
    pub fn new(lessons: Vec<Lesson>, errors: Vec<String>, store: Store) -> Browser {
        let notice = store.problem.clone();
        Browser { lessons, errors, store, selected: 0, view: View::List, help: false, notice, size: (80, 24) }
    }

    /// The lesson screen, if a lesson is open.
    pub fn screen(&self) -> Option<&LessonScreen> {
        match &self.view {
            View::Lesson(s) => Some(s),
            View::List => None,
        }
    }

    /// Opens lesson `index` at the step the student was at.
    pub fn open(&mut self, index: usize) {
        let Some(lesson) = self.lessons.get(index) else { return };
        let step = self.store.lesson(&lesson.id).map_or(0, |p| p.step).min(lesson.steps.len() - 1);
        self.selected = index;
        let runs: Vec<StepRun> = lesson.steps[..=step].iter().map(|s| s.run.run()).collect();
        let app = viewer(&runs[step], self.size);
        let mut screen = LessonScreen {
            lesson: index,
            step,
            runs,
            app,
            variant: None,
            question: 0,
            input: None,
            suggestion: 0,
            verdict: None,
            scroll: 0,
            pointer: Err(String::new()),
        };
        self.show_step(&mut screen, step);
        self.view = View::Lesson(Box::new(screen));
    }

    /// Shows `step` of the open lesson: runs it (and the steps before it, once), puts the
    /// run in the viewer and its cursor where the step says to look.
    fn show_step(&mut self, screen: &mut LessonScreen, step: usize) {
        let lesson = &self.lessons[screen.lesson];
        while screen.runs.len() <= step {
            screen.runs.push(lesson.steps[screen.runs.len()].run.run());
        }
        screen.step = step;
        screen.variant = None;
        screen.input = None;
        screen.verdict = None;
        screen.scroll = 0;
        screen.suggestion = 0;
        // The first question not yet answered right.
        let questions = lesson.steps[step].questions.len();
        screen.question =
            (0..questions).find(|&q| self.store.answer(&lesson.id, step, q).is_none_or(|a| !a.correct)).unwrap_or(0);
        let run = &screen.runs[step];
        screen.app = viewer(run, self.size);
        screen.pointer = lesson.steps[step].look_at.resolve(run).map_err(|e| e.to_string());
        if let Ok(p) = &screen.pointer {
            screen.app.look_at(p.cursor, p.rank, p.message);
        }
        self.store.visit(&lesson.id, step);
    }

    /// Changes the model by one message.
    pub fn update(&mut self, msg: BrowserMsg) -> Control {
        if !matches!(msg, BrowserMsg::Run(Msg::Tick(_)) | BrowserMsg::Resize(..)) {
            self.notice = None;
        }
        if let BrowserMsg::Resize(w, h) = msg {
            self.size = (w, h);
            if let View::Lesson(s) = &mut self.view {
                let (area, size) = run_area(self.size);
                s.app.place(area, size);
            }
            return Control::Continue;
        }
        match msg {
            BrowserMsg::Quit => return Control::Quit,
            BrowserMsg::ToggleHelp => {
                self.help = !self.help;
                return Control::Continue;
            }
            BrowserMsg::Back if self.help => {
                self.help = false;
                return Control::Continue;
            }
            _ => {}
        }
        let view = std::mem::replace(&mut self.view, View::List);
        match view {
            View::List => self.update_list(msg),
            View::Lesson(mut screen) => {
                let back = self.update_lesson(&mut screen, msg);
                if !back {
                    self.view = View::Lesson(screen);
                }
            }
        }
        Control::Continue
    }

    fn update_list(&mut self, msg: BrowserMsg) {
        let n = self.lessons.len();
        match msg {
            BrowserMsg::Up => self.selected = self.selected.saturating_sub(1),
            BrowserMsg::Down => self.selected = (self.selected + 1).min(n.saturating_sub(1)),
            BrowserMsg::Open if n > 0 => self.open(self.selected),
            _ => {}
        }
    }

    /// Updates an open lesson; `true` when the student went back to the list.
    fn update_lesson(&mut self, s: &mut LessonScreen, msg: BrowserMsg) -> bool {
        let steps = self.lessons[s.lesson].steps.len();
        let step = self.lessons[s.lesson].steps[s.step].clone();
        match msg {
            BrowserMsg::NextStep if s.step + 1 < steps => self.show_step(s, s.step + 1),
            BrowserMsg::NextStep => self.notice = Some("this is the last step; Esc goes back to the lessons".into()),
            BrowserMsg::PrevStep if s.step > 0 => self.show_step(s, s.step - 1),
            BrowserMsg::PrevStep => self.notice = Some("this is the first step".into()),
            BrowserMsg::NextQuestion if !step.questions.is_empty() => {
                s.question = (s.question + 1) % step.questions.len();
                s.verdict = None;
                s.input = None;
            }
            BrowserMsg::Choose(i) => match step.questions.get(s.question) {
                Some(q) if i < q.choices().len() => self.answer(s, Given::Choice(i)),
                Some(q) if q.typed_prompt().is_some() => {
                    self.notice = Some(format!(
                        "this question takes {}: press Enter to type it",
                        q.typed_prompt().unwrap_or_default()
                    ))
                }
                Some(q) => self.notice = Some(format!("pick a to {}", (b'a' + q.choices().len() as u8 - 1) as char)),
                None => self.notice = Some("this step asks no question".into()),
            },
            BrowserMsg::AnswerStart => match step.questions.get(s.question) {
                Some(q) if q.typed_prompt().is_some() => s.input = Some(Input::Answer(String::new())),
                Some(q) => {
                    self.notice = Some(format!("pick a choice: a to {}", (b'a' + q.choices().len() as u8 - 1) as char))
                }
                None => self.notice = Some("this step asks no question".into()),
            },
            BrowserMsg::RerunStart => {
                let shown = s.variant.as_ref().map_or(&step.run, |v| &v.spec);
                s.input = Some(Input::Rerun(shown.flags().join(" ")));
            }
            BrowserMsg::Char(c) => match &mut s.input {
                Some(Input::Answer(t) | Input::Rerun(t)) if t.chars().count() < 200 => t.push(c),
                _ => {}
            },
            BrowserMsg::Backspace => {
                if let Some(Input::Answer(t) | Input::Rerun(t)) = &mut s.input {
                    t.pop();
                }
            }
            BrowserMsg::Suggest => {
                if let (Some(Input::Rerun(t)), false) = (&mut s.input, step.suggestions.is_empty()) {
                    *t = step.suggestions[s.suggestion % step.suggestions.len()].clone();
                    s.suggestion += 1;
                }
            }
            BrowserMsg::Submit => match s.input.take() {
                Some(Input::Answer(text)) => self.answer(s, Given::Typed(text)),
                Some(Input::Rerun(text)) => match step.run.with_flags(&text) {
                    Ok(spec) => {
                        let run = spec.run();
                        s.app = viewer(&run, self.size);
                        self.notice = Some(format!("re-ran `{}`: R goes back to the step's run", spec.command()));
                        s.variant = Some(run);
                    }
                    Err(e) => {
                        self.notice = Some(e.to_string());
                        s.input = Some(Input::Rerun(text));
                    }
                },
                None if step.questions.get(s.question).is_some_and(|q| q.typed_prompt().is_some()) => {
                    s.input = Some(Input::Answer(String::new()))
                }
                None => {}
            },
            BrowserMsg::Restore if s.variant.is_some() => {
                let step_index = s.step;
                let (question, verdict) = (s.question, s.verdict.take());
                self.show_step(s, step_index);
                s.question = question;
                s.verdict = verdict;
            }
            BrowserMsg::Look => match &s.pointer {
                Ok(p) if s.variant.is_none() => {
                    let p = p.clone();
                    s.app.look_at(p.cursor, p.rank, p.message);
                }
                Ok(_) => self.notice = Some("the pointer is on the step's own run: R goes back to it".into()),
                Err(e) => self.notice = Some(e.clone()),
            },
            BrowserMsg::TextDown => s.scroll = s.scroll.saturating_add(3),
            BrowserMsg::TextUp => s.scroll = s.scroll.saturating_sub(3),
            BrowserMsg::Back => {
                if s.input.take().is_some() {
                    return false;
                }
                // Esc closes the viewer's filter or other screen first; a selected message
                // stays (the pointer may have selected it).
                if s.app.input.is_some() {
                    s.app.update(Msg::Escape);
                    return false;
                }
                if s.app.screen != Screen::Timeline {
                    s.app.update(Msg::Show(Screen::Timeline));
                    return false;
                }
                return true;
            }
            BrowserMsg::Run(m) => return s.app.update(m) == Control::Quit,
            _ => {}
        }
        false
    }

    /// Judges an answer to the current question on the step's own run, and records it.
    fn answer(&mut self, s: &mut LessonScreen, given: Given) {
        let lesson = &self.lessons[s.lesson];
        let Some(question) = lesson.steps[s.step].questions.get(s.question) else { return };
        let value: Result<Value, String> =
            question.answer.eval(&s.runs[s.step], &s.runs[..s.step]).map_err(|e| e.to_string());
        match value {
            Ok(value) => {
                let verdict = question.grade(&value, &given);
                let text = match &given {
                    Given::Choice(i) => ((b'a' + *i as u8) as char).to_string(),
                    Given::Typed(t) => t.trim().to_string(),
                };
                let id = lesson.id.clone();
                self.store.record(&id, s.step, s.question, &text, verdict.correct);
                if let Some(p) = &self.store.problem {
                    self.notice = Some(p.clone());
                }
                s.verdict = Some(verdict);
            }
            Err(e) => self.notice = Some(format!("this question cannot be answered on this run: {e}")),
        }
    }
}

impl crate::term::Model for Browser {
    fn event(&mut self, event: &crossterm::event::Event) -> Control {
        match crate::keys::browser_msg_for(self, event) {
            Some(msg) => self.update(msg),
            None => Control::Continue,
        }
    }

    fn resize(&mut self, width: u16, height: u16) {
        self.update(BrowserMsg::Resize(width, height));
    }

    fn playing(&self) -> bool {
        self.screen().is_some_and(|s| s.app.playing)
    }

    fn tick(&mut self, ms: u32) {
        self.update(BrowserMsg::Run(Msg::Tick(ms)));
    }

    fn draw(&self, theme: crate::Theme, frame: &mut ratatui::Frame) {
        crate::view::lesson::view(self, theme, frame);
    }
}

/// Where the run viewer goes on a terminal of `size`: beside the text, under the two
/// header lines, over the footer. Returns the origin and the size.
pub fn run_area(size: (u16, u16)) -> ((u16, u16), (u16, u16)) {
    let (w, h) = size;
    let x = TEXT_WIDTH.min(w);
    ((x, 2.min(h)), (w - x, h.saturating_sub(3)))
}

/// The run viewer of a step's run, embedded beside the text.
fn viewer(run: &StepRun, size: (u16, u16)) -> App {
    let error = run.sim.outcome.as_ref().err();
    let mut app = App::new(run.sim.trace.clone(), error, &run.sim.warnings, run.spec.command());
    let (area, app_size) = run_area(size);
    app.embedded = true;
    app.place(area, app_size);
    app
}

#[cfg(test)]
mod tests {
    use super::*;

    fn browser(name: &str) -> (Browser, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("mpisim-browser-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let (lessons, _) = crate::course::lessons();
        (Browser::new(lessons, Vec::new(), Store::at(&dir)), dir)
    }

    fn ring_index(b: &Browser) -> usize {
        b.lessons.iter().position(|l| l.id == "ring-hang").expect("the course has the ring lesson")
    }

    #[test]
    fn a_lesson_opens_at_its_pointer_and_answers_are_kept() {
        let (mut b, dir) = browser("answers");
        b.update(BrowserMsg::Resize(80, 24));
        b.update(BrowserMsg::Down);
        assert_eq!(b.selected, 1);
        b.update(BrowserMsg::Up);
        b.update(BrowserMsg::Up);
        assert_eq!(b.selected, 0);
        b.open(ring_index(&b));
        let s = b.screen().unwrap();
        assert_eq!(s.step, 0);
        let p = s.pointer.clone().unwrap();
        assert_eq!(s.app.cursor, p.cursor);
        // Answer every choice of the first question: exactly one is right.
        let choices = b.lessons[s.lesson].steps[0].questions[0].choices().len();
        let mut right = 0;
        for i in 0..choices {
            b.update(BrowserMsg::Choose(i));
            right += usize::from(b.screen().unwrap().verdict.as_ref().unwrap().correct);
        }
        assert_eq!(right, 1);
        let id = b.lessons[ring_index(&b)].id.clone();
        assert_eq!(Store::at(&dir).right(&id), 1, "saved at once");
        b.update(BrowserMsg::NextStep);
        assert_eq!(b.screen().unwrap().step, 1);
        b.update(BrowserMsg::Back);
        assert!(b.screen().is_none(), "Esc goes back to the list");
        b.open(ring_index(&b));
        assert_eq!(b.screen().unwrap().step, 1, "reopens at the step it was at");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_rerun_shows_the_changed_run_and_restores() {
        let (mut b, dir) = browser("rerun");
        b.open(ring_index(&b));
        let events = b.screen().unwrap().app.tl.event_count;
        b.update(BrowserMsg::RerunStart);
        assert_eq!(b.screen().unwrap().input, Some(Input::Rerun("-n 4 --bytes 8".into())));
        for _ in 0.."--bytes 8".len() {
            b.update(BrowserMsg::Backspace);
        }
        for c in "--bytes 1MiB".chars() {
            b.update(BrowserMsg::Char(c));
        }
        b.update(BrowserMsg::Submit);
        let s = b.screen().unwrap();
        assert_eq!(s.variant.as_ref().map(|v| v.spec.command()), Some("ring -n 4 --bytes 1MiB".to_string()));
        assert!(s.app.outcome.is_stuck(), "1 MiB deadlocks");
        assert_ne!(s.app.tl.event_count, events);
        b.update(BrowserMsg::RerunStart);
        for c in " --colour red".chars() {
            b.update(BrowserMsg::Char(c));
        }
        b.update(BrowserMsg::Submit);
        assert!(b.notice.as_deref().is_some_and(|n| n.contains("no parameter --colour")), "{:?}", b.notice);
        assert!(b.screen().unwrap().input.is_some(), "the flags stay to be corrected");
        b.update(BrowserMsg::Back);
        b.update(BrowserMsg::Restore);
        let s = b.screen().unwrap();
        assert!(s.variant.is_none());
        assert_eq!(s.app.tl.event_count, events);
        assert!(!dir.exists(), "looking and re-running save nothing");
    }
}
