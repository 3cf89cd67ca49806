//! The trace: every call, message, compute phase and printed line of a run, on the virtual
//! clock. Same program, platform and seed give a byte-identical trace.

use crate::call::CallKind;
use crate::error::SimError;
use crate::input::{read_capped, InputError};
use crate::platform::Platform;
use crate::time::Time;
use crate::world::Warning;
use crate::{Rank, Tag};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fmt;
use std::path::Path;

mod validate;

pub use validate::MAX_TRACE_RANKS;

/// Version of the saved trace format; bumped on every incompatible change.
pub const TRACE_SCHEMA: u32 = 3;

/// What the traces of each older schema lack, for the message that refuses them.
const OLDER_SCHEMAS: [&str; 2] = [
    "do not say which receive took each message",
    "do not record the program, its parameters and the warnings of the run",
];

/// The largest trace file mpisim reads by default: 1 GiB (about ten million events).
pub const MAX_TRACE_FILE: u64 = 1 << 30;

/// A place in the user's source: `file:line:column`, from `#[track_caller]`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Site {
    /// Source file as the compiler saw it.
    pub file: Cow<'static, str>,
    /// 1-based line.
    pub line: u32,
    /// 1-based column; 0 for a line of a script, which has none.
    pub column: u32,
}

impl Site {
    /// The site of a `#[track_caller]` location; costs no allocation.
    pub fn from_location(loc: &'static std::panic::Location<'static>) -> Site {
        Site { file: Cow::Borrowed(loc.file()), line: loc.line(), column: loc.column() }
    }
}

impl fmt::Display for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A script line has no column (0): `ring.py:11`.
        match self.column {
            0 => write!(f, "{}:{}", self.file, self.line),
            column => write!(f, "{}:{}:{column}", self.file, self.line),
        }
    }
}

/// How a message travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    /// Sent at once and buffered at the receiver; the send completes locally.
    Eager,
    /// The sender waits for the matching receive, then the data moves.
    Rendezvous,
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Eager => "eager",
            Protocol::Rendezvous => "rendezvous",
        })
    }
}

/// One thing that happened on one rank at one virtual time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// When.
    pub time: Time,
    /// Where (a world rank).
    pub rank: Rank,
    /// What.
    pub kind: EventKind,
}

/// What an [`Event`] records.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventKind {
    /// The rank entered an MPI call.
    Enter {
        /// Which call.
        call: CallKind,
        /// The user's file:line.
        site: Site,
        /// The peer rank it names, if any (`None` also for ANY_SOURCE).
        #[serde(skip_serializing_if = "Option::is_none", default)]
        peer: Option<Rank>,
        /// The tag it names, if any.
        #[serde(skip_serializing_if = "Option::is_none", default)]
        tag: Option<Tag>,
        /// The bytes it sends, if any.
        #[serde(skip_serializing_if = "Option::is_none", default)]
        bytes: Option<u64>,
        /// The communicator it is on (0 is `COMM_WORLD`), if it has one.
        #[serde(skip_serializing_if = "Option::is_none", default)]
        comm: Option<u32>,
    },
    /// The call returned to the program.
    Leave {
        /// Which call.
        call: CallKind,
    },
    /// A message left this rank: eager data injected, or a rendezvous request to send.
    Send {
        /// Message id, unique in the run.
        msg: u64,
        /// Destination world rank.
        dst: Rank,
        /// Tag.
        tag: Tag,
        /// Size in bytes (the encoded value).
        bytes: u64,
        /// Eager or rendezvous.
        protocol: Protocol,
        /// When the last byte arrives (eager), or `None` until matched (rendezvous).
        #[serde(skip_serializing_if = "Option::is_none", default)]
        arrival: Option<Time>,
    },
    /// The message's envelope reached this (the receiving) rank's queues.
    Arrive {
        /// Message id.
        msg: u64,
        /// Source world rank.
        src: Rank,
    },
    /// A receive started on this rank: it takes a waiting message at once (a `Match`
    /// follows) or waits in the posted queue.
    Post {
        /// Its identity, unique in the run (a persistent receive gets one per start).
        recv: u64,
        /// The source it accepts (a world rank), `None` for ANY_SOURCE.
        #[serde(skip_serializing_if = "Option::is_none", default)]
        source: Option<Rank>,
        /// The tag it accepts, `None` for ANY_TAG.
        #[serde(skip_serializing_if = "Option::is_none", default)]
        tag: Option<Tag>,
        /// Its communicator.
        comm: u32,
        /// Whether it is a step of a collective (collective traffic has its own context).
        #[serde(skip_serializing_if = "std::ops::Not::not", default)]
        collective: bool,
    },
    /// A posted receive was cancelled: it left the posted queue without a message.
    Unpost {
        /// The receive.
        recv: u64,
    },
    /// Receive `recv` on this rank matched the message.
    Match {
        /// Message id.
        msg: u64,
        /// Source world rank.
        src: Rank,
        /// When the last byte is at this rank.
        arrival: Time,
        /// The receive that took it (see [`EventKind::Post`]).
        recv: u64,
        /// Whether the message waited in the unexpected queue (else the receive waited in
        /// the posted queue).
        #[serde(skip_serializing_if = "std::ops::Not::not", default)]
        unexpected: bool,
    },
    /// The program computed for a while (`end` is when it finished).
    Compute {
        /// When the computation ends.
        end: Time,
    },
    /// The program printed a line.
    Print {
        /// The line, without its newline.
        text: String,
    },
    /// The program returned.
    Exit,
}

/// A whole run, as saved to JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Trace {
    /// [`TRACE_SCHEMA`] of the writer.
    pub schema: u32,
    /// The program that ran, as `mpisim run` names it (empty for a run that was not
    /// named: see [`World::describe`](crate::World::describe)).
    #[serde(default)]
    pub program: String,
    /// Its parameters, `(name, value)` in the program's order, as a command line gives them.
    #[serde(default)]
    pub params: Vec<(String, String)>,
    /// Number of ranks.
    pub ranks: usize,
    /// Seed of the run.
    pub seed: u64,
    /// Whether standard sends were made synchronous (`--strict`).
    pub strict: bool,
    /// The simulated machine.
    pub platform: Platform,
    /// Every event, in the order the engine processed them (virtual time never decreases).
    pub events: Vec<Event>,
}

/// Why a saved trace could not be read, in words that name the file's first problem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceError(pub String);

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TraceError {}

/// A trace as `--trace FILE` saves it: the trace and, after its own fields, how its run
/// ended (readers that do not know these keys ignore them).
#[derive(Serialize)]
struct Saved<'a> {
    #[serde(flatten)]
    trace: &'a Trace,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a SimError>,
    #[serde(skip_serializing_if = "<[Warning]>::is_empty")]
    warnings: &'a [Warning],
}

/// What a saved trace file holds, read in one pass (no `flatten`, which would buffer every
/// event before reading it).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored {
    schema: u32,
    #[serde(default)]
    program: String,
    #[serde(default)]
    params: Vec<(String, String)>,
    ranks: usize,
    seed: u64,
    strict: bool,
    platform: Platform,
    events: Vec<Event>,
    #[serde(default)]
    error: Option<SimError>,
    #[serde(default)]
    warnings: Vec<Warning>,
}

/// A saved run read back: its trace, checked, and how it ended.
#[derive(Clone, Debug, PartialEq)]
pub struct SavedRun {
    /// The trace; [`Trace::validate`] has accepted it.
    pub trace: Trace,
    /// The error that ended the run, if one did.
    pub error: Option<SimError>,
    /// The warnings of a run that completed (a buffering hazard with its strict run's
    /// deadlock, messages never received, requests never completed).
    pub warnings: Vec<Warning>,
}

impl Trace {
    /// The trace as JSON text (stable field order, no floats in events).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a trace always serialises")
    }

    /// Reads a trace written by [`Trace::to_json`] (or saved with its outcome), checking
    /// its schema version and then every event ([`Trace::validate`]).
    pub fn from_json(text: &str) -> Result<Trace, TraceError> {
        Trace::from_json_with_outcome(text).map(|saved| saved.trace)
    }

    /// The trace as JSON with how its run ended: the error, if one ended it, and the
    /// warnings. This is what `--trace FILE` saves, so a viewer can show them later.
    pub fn to_json_with_outcome(&self, error: Option<&SimError>, warnings: &[Warning]) -> String {
        serde_json::to_string(&Saved { trace: self, error, warnings }).expect("a trace always serialises")
    }

    /// Reads a trace saved by [`Trace::to_json_with_outcome`] (or [`Trace::to_json`]) with
    /// how its run ended, and checks all of it: the schema, every event
    /// ([`Trace::validate`]), and the ranks that the error and warnings name.
    pub fn from_json_with_outcome(text: &str) -> Result<SavedRun, TraceError> {
        let stored: Stored = match serde_json::from_str(text) {
            Ok(stored) => stored,
            Err(e) => {
                // A trace of another schema fails here too: say that rather than which of
                // its fields this version does not know.
                #[derive(Deserialize)]
                struct Header {
                    schema: u32,
                }
                return Err(match serde_json::from_str::<Header>(text) {
                    Ok(h) if h.schema != TRACE_SCHEMA => schema_error(h.schema),
                    Ok(_) => TraceError(format!("malformed trace: {e}")),
                    Err(_) if e.is_syntax() || e.is_eof() => TraceError(format!("not an mpisim trace: {e}")),
                    Err(_) if text.contains("\"traceEvents\"") => TraceError(
                        "not an mpisim trace but a Chrome trace: open it in Perfetto (ui.perfetto.dev) or \
                         chrome://tracing; mpisim reads traces saved with --trace-format json (the default)"
                            .into(),
                    ),
                    Err(_) => TraceError(format!("not an mpisim trace: {e}")),
                });
            }
        };
        if stored.schema != TRACE_SCHEMA {
            return Err(schema_error(stored.schema));
        }
        let Stored { schema, program, params, ranks, seed, strict, platform, events, error, warnings } = stored;
        let saved = SavedRun {
            trace: Trace { schema, program, params, ranks, seed, strict, platform, events },
            error,
            warnings,
        };
        saved.trace.validate()?;
        validate::outcome(&saved)?;
        Ok(saved)
    }

    /// Reads a saved trace file of at most `cap` bytes (see [`MAX_TRACE_FILE`]) and checks
    /// it as [`Trace::from_json_with_outcome`] does; errors start with the file's name.
    pub fn load(path: &Path, cap: u64) -> Result<SavedRun, TraceError> {
        let name = path.display();
        let text = read_capped(path, cap).map_err(|e| match e {
            InputError::TooLarge { .. } => TraceError(format!(
                "{name}: {e}: a trace that large is a long run; re-run it with fewer ranks or steps, or raise \
                 the cap (`mpisim view --max-size SIZE`)"
            )),
            InputError::Binary { .. } => TraceError(format!("{name}: not an mpisim trace: {e}")),
            InputError::Io { .. } => TraceError(format!("cannot read {name}: {e}")),
        })?;
        Trace::from_json_with_outcome(&text).map_err(|e| TraceError(format!("{name}: {e}")))
    }

    /// Checks what a viewer relies on, so that indexing a [`Timeline`](crate::timeline::Timeline)
    /// of the trace never goes out of bounds: the ranks (at least 1, at most
    /// [`MAX_TRACE_RANKS`]) and the platform; then every event: on a rank of the trace, in
    /// time order, none after its rank's exit; calls that nest (each `leave` closes the
    /// innermost open call, of its kind; no call open at the exit); each message sent once,
    /// to a rank of the trace, arriving and matched at most once, at its destination, from
    /// its sender; each receive posted once and taken or cancelled at most once, on its own
    /// rank; computations and arrivals that do not end before they start. The error names
    /// the first bad event.
    pub fn validate(&self) -> Result<(), TraceError> {
        validate::trace(self)
    }

    /// Virtual time of the last event.
    pub fn end_time(&self) -> Time {
        self.events.last().map_or(Time::ZERO, |e| e.time)
    }
}

/// Why a trace of `schema` is refused, and what to do.
fn schema_error(schema: u32) -> TraceError {
    let why = match OLDER_SCHEMAS.get((schema as usize).wrapping_sub(1)) {
        Some(lack) => format!("it was recorded by an older mpisim, whose schema {schema} traces {lack}"),
        None if schema > TRACE_SCHEMA => "it was recorded by a newer mpisim".to_string(),
        None => "no mpisim records that schema".to_string(),
    };
    TraceError(format!(
        "trace schema {schema} is not supported by this mpisim, which reads schema {TRACE_SCHEMA}: {why}; \
         re-run the program with --trace to record it again"
    ))
}

#[cfg(test)]
mod tests;
