//! The trace: every call, message, compute phase and printed line of a run, on the virtual
//! clock. Same program, platform and seed give a byte-identical trace.

use crate::call::CallKind;
use crate::error::SimError;
use crate::platform::Platform;
use crate::time::Time;
use crate::{Rank, Tag};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fmt;

/// Version of the saved trace format; bumped on every incompatible change.
pub const TRACE_SCHEMA: u32 = 2;

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

/// Why a saved trace could not be read.
#[derive(Debug)]
pub struct TraceError(pub String);

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TraceError {}

/// A trace as `--trace FILE` saves it: the trace and, after its own fields, the error that
/// ended its run (readers that do not know the `error` key ignore it).
#[derive(Serialize)]
struct Saved<'a> {
    #[serde(flatten)]
    trace: &'a Trace,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a SimError>,
}

impl Trace {
    /// The trace as JSON text (stable field order, no floats in events).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a trace always serialises")
    }

    /// Reads a trace written by [`Trace::to_json`], checking its schema version.
    pub fn from_json(text: &str) -> Result<Trace, TraceError> {
        #[derive(Deserialize)]
        struct Header {
            schema: u32,
        }
        let header: Header = serde_json::from_str(text).map_err(|e| TraceError(format!("not an mpisim trace: {e}")))?;
        if header.schema != TRACE_SCHEMA {
            let why = if header.schema < TRACE_SCHEMA {
                "it was recorded by an older mpisim, whose traces do not say which receive took each message"
            } else {
                "it was recorded by a newer mpisim"
            };
            return Err(TraceError(format!(
                "trace schema {} is not supported by this mpisim, which reads schema {TRACE_SCHEMA}: {why}; \
                 re-run the program with --trace to record it again",
                header.schema
            )));
        }
        serde_json::from_str(text).map_err(|e| TraceError(format!("malformed trace: {e}")))
    }

    /// The trace as JSON with the error that ended its run, if one did. This is what
    /// `--trace FILE` saves, so a viewer can show a deadlock's report later.
    pub fn to_json_with_outcome(&self, error: Option<&SimError>) -> String {
        serde_json::to_string(&Saved { trace: self, error }).expect("a trace always serialises")
    }

    /// Reads a trace saved by [`Trace::to_json_with_outcome`] (or [`Trace::to_json`]), with
    /// the error that ended its run. An error this version cannot read is left out.
    pub fn from_json_with_outcome(text: &str) -> Result<(Trace, Option<SimError>), TraceError> {
        #[derive(Deserialize)]
        struct Outcome {
            #[serde(default)]
            error: Option<serde_json::Value>,
        }
        let trace = Trace::from_json(text)?;
        let error = serde_json::from_str::<Outcome>(text)
            .ok()
            .and_then(|o| o.error)
            .and_then(|e| serde_json::from_value::<SimError>(e).ok());
        Ok((trace, error))
    }

    /// Virtual time of the last event.
    pub fn end_time(&self) -> Time {
        self.events.last().map_or(Time::ZERO, |e| e.time)
    }
}
