//! The wire protocol between a rank's Python process and its proxy, version 1.
//!
//! The pipe pair is the process's stdin (proxy → rank) and stdout (rank → proxy); the shim
//! takes them over before the script runs, so the script's own output never enters it.
//! Both directions carry frames:
//!
//! ```text
//! frame  = n:u32le  h:u32le  header:[u8; h]  blobs:[u8; n - 4 - h]
//! header = a JSON object; "b": [sizes] lists the blobs, back to back (absent: none)
//! ```
//!
//! JSON keeps the control part readable and versionable; payloads (pickles, buffer
//! bytes) travel raw, never escaped. The rank speaks first, with
//! `{"op":"hello","v":1,"pid":…}`, then sends one request per MPI call — `{"op":"send",
//! "at":["ring.py",11],"c":0,"dest":1,"tag":0,"mode":"std","obj":true}` plus the pickle —
//! and blocks until the reply: `{}` or the call's results (`{"s":[source,tag,bytes,
//! cancelled]}`, `{"req":7}`, `{"done":[…]}`, …) with any received payloads as blobs.
//! While a reduction of Python objects is under way, the proxy may first send any number
//! of `{"apply":true}` frames with two pickles, `a` (from lower ranks) and `b`; the rank
//! answers each with `{"op":"applied"}` and the pickle of `a ∘ b`. The rank ends with
//! `{"op":"exit"}`, or with `{"op":"raise",…}` for an uncaught exception (type, message,
//! the traceback's frames outside the shim, and the MPI method it was raised in, if any).
//! Requests are listed in [`Request`]; python/mpi4py/_mpisim.py is the other end.

use serde::{Deserialize, Serialize};
use std::io::{self, Read, Write};

/// The protocol version both ends speak.
pub(crate) const VERSION: u32 = 1;

/// The largest frame accepted: a length beyond it is a broken pipe, not a message.
const MAX_FRAME: u32 = 1 << 31;

/// The caller's file and line in the script, as the shim found it.
pub(crate) type At = (String, u32);

/// How a send completes: mpi4py's send/Send, ssend/Ssend, bsend/Bsend, Rsend.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Mode {
    Std,
    Sync,
    Buffered,
    Ready,
}

/// Which requests a wait or test completes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum How {
    All,
    Any,
    Some,
}

/// The reductions, on Python objects or on buffers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ReduceKind {
    Reduce,
    Allreduce,
    Scan,
    Exscan,
}

/// What a rank asks of its proxy. Ranks are the communicator's (`-1` any source, `-2`
/// the null process); `obj` says lowercase (a pickle) or uppercase (a buffer's bytes);
/// `cap` is the size in bytes of a receive buffer.
#[derive(Debug, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(crate) enum Request {
    Hello {
        v: u32,
    },
    Print {
        at: At,
        text: String,
    },
    Sleep {
        at: At,
        s: f64,
    },
    Wtime {
        at: At,
    },
    /// A send; `nb` for the nonblocking one (`isend`, `Isend`), which returns a request.
    Send {
        at: At,
        c: u32,
        dest: i64,
        tag: i64,
        mode: Mode,
        obj: bool,
        #[serde(default)]
        nb: bool,
    },
    /// A receive; `nb` for the nonblocking one (`irecv`, `Irecv`), which returns a request.
    Recv {
        at: At,
        c: u32,
        source: i64,
        tag: i64,
        obj: bool,
        cap: Option<u64>,
        #[serde(default)]
        nb: bool,
    },
    Sendrecv {
        at: At,
        c: u32,
        dest: i64,
        stag: i64,
        source: i64,
        rtag: i64,
        obj: bool,
        cap: Option<u64>,
    },
    Probe {
        at: At,
        c: u32,
        source: i64,
        tag: i64,
        block: bool,
    },
    /// A wait or test on the requests `r` (null ones as `null`); `one` for `req.wait()`
    /// and `req.test()`.
    Wait {
        at: At,
        r: Vec<Option<u64>>,
        how: How,
        block: bool,
        one: bool,
    },
    /// Starts persistent requests; the blobs are the current data of those marked `bind`
    /// (the sends), in order.
    Start {
        at: At,
        r: Vec<u64>,
        bind: Vec<bool>,
        /// `req.Start()` rather than `Prequest.Startall`.
        #[serde(default)]
        one: bool,
    },
    SendInit {
        at: At,
        c: u32,
        dest: i64,
        tag: i64,
    },
    RecvInit {
        at: At,
        c: u32,
        source: i64,
        tag: i64,
        cap: Option<u64>,
    },
    Cancel {
        at: At,
        r: u64,
    },
    Free {
        at: At,
        r: u64,
    },
    Barrier {
        at: At,
        c: u32,
    },
    Bcast {
        at: At,
        c: u32,
        root: i64,
        obj: bool,
        cap: Option<u64>,
    },
    Scatter {
        at: At,
        c: u32,
        root: i64,
        obj: bool,
        cap: Option<u64>,
    },
    Gather {
        at: At,
        c: u32,
        root: i64,
        obj: bool,
    },
    Allgather {
        at: At,
        c: u32,
        obj: bool,
    },
    Alltoall {
        at: At,
        c: u32,
        obj: bool,
    },
    /// Buffers only; `counts` in bytes, known at the root.
    Scatterv {
        at: At,
        c: u32,
        root: i64,
        counts: Option<Vec<u64>>,
        cap: Option<u64>,
    },
    /// Buffers only; `counts` in bytes, known at the root.
    Gatherv {
        at: At,
        c: u32,
        root: i64,
        counts: Option<Vec<u64>>,
    },
    /// Buffers only; `counts` in bytes.
    Allgatherv {
        at: At,
        c: u32,
        counts: Vec<u64>,
    },
    /// `operator` is MPI's name (`MPI_SUM`) or a function's; `dtype` the element code of
    /// a buffer (`f8`, `i4`, …).
    Reduce {
        at: At,
        c: u32,
        kind: ReduceKind,
        operator: String,
        root: Option<i64>,
        obj: bool,
        #[serde(default)]
        commute: bool,
        dtype: Option<String>,
    },
    Split {
        at: At,
        c: u32,
        color: i64,
        key: i64,
    },
    Dup {
        at: At,
        c: u32,
    },
    /// `MPI.COMM_SELF`, made on first use.
    SelfComm {
        at: At,
    },
    Abort {
        at: At,
        code: i32,
    },
    Exit,
    Raise(Raised),
    Applied,
}

impl Request {
    /// The script's line of a call (`None` for what is no call: the greeting, the end, an
    /// exception, an operator's result).
    pub fn at(&self) -> Option<&At> {
        use Request as R;
        match self {
            R::Print { at, .. }
            | R::Sleep { at, .. }
            | R::Wtime { at }
            | R::Send { at, .. }
            | R::Recv { at, .. }
            | R::Sendrecv { at, .. }
            | R::Probe { at, .. }
            | R::Wait { at, .. }
            | R::Start { at, .. }
            | R::SendInit { at, .. }
            | R::RecvInit { at, .. }
            | R::Cancel { at, .. }
            | R::Free { at, .. }
            | R::Barrier { at, .. }
            | R::Bcast { at, .. }
            | R::Scatter { at, .. }
            | R::Gather { at, .. }
            | R::Allgather { at, .. }
            | R::Alltoall { at, .. }
            | R::Scatterv { at, .. }
            | R::Gatherv { at, .. }
            | R::Allgatherv { at, .. }
            | R::Reduce { at, .. }
            | R::Split { at, .. }
            | R::Dup { at, .. }
            | R::SelfComm { at }
            | R::Abort { at, .. } => Some(at),
            R::Hello { .. } | R::Exit | R::Raise(_) | R::Applied => None,
        }
    }

    /// The request's name, as in the protocol: `send`, `reduce`, …
    pub fn name(&self) -> String {
        let debug = format!("{self:?}");
        let variant = debug.split([' ', '{', '(']).next().unwrap_or_default();
        let mut name = String::new();
        for (i, c) in variant.chars().enumerate() {
            if c.is_uppercase() && i > 0 {
                name.push('_');
            }
            name.push(c.to_ascii_lowercase());
        }
        name
    }
}

/// An uncaught exception, as the rank's process reports it.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Raised {
    /// The exception's class name: `ZeroDivisionError`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `str(exception)`.
    pub message: String,
    /// The traceback's frames outside mpisim's files, innermost last: (file, line, function).
    pub frames: Vec<(String, u32, String)>,
    /// The mpi4py method the script called that raised it (`allreduce`), if any.
    #[serde(rename = "in")]
    pub within: Option<String>,
}

/// The CPU time (seconds) a call's header says the rank spent since its last call: sent
/// under `--measure` only, else 0.
pub(crate) fn measured_cpu(header: &[u8]) -> f64 {
    #[derive(Deserialize)]
    struct Measured {
        #[serde(default)]
        cpu: f64,
    }
    serde_json::from_slice::<Measured>(header).map_or(0.0, |m| m.cpu).max(0.0)
}

/// One frame read off the pipe.
#[derive(Debug)]
pub(crate) struct Frame {
    /// The header, undecoded.
    pub header: Vec<u8>,
    /// The payloads, in order.
    pub blobs: Vec<Vec<u8>>,
}

/// The sizes of the blobs, from a header.
#[derive(Deserialize)]
struct Sizes {
    #[serde(default)]
    b: Vec<u64>,
}

/// Reads one frame; `Ok(None)` at the end of the stream (the process closed its end).
pub(crate) fn read_frame(r: &mut impl Read) -> io::Result<Option<Frame>> {
    let mut head = [0u8; 8];
    match r.read_exact(&mut head[..4]) {
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        other => other?,
    }
    r.read_exact(&mut head[4..])?;
    let n = u32::from_le_bytes(head[..4].try_into().expect("4 bytes"));
    let h = u32::from_le_bytes(head[4..].try_into().expect("4 bytes"));
    if n > MAX_FRAME || h > n.saturating_sub(4) {
        return Err(io::Error::new(io::ErrorKind::InvalidData, format!("a frame of {n} bytes with a {h}-byte header")));
    }
    let mut header = vec![0u8; h as usize];
    r.read_exact(&mut header)?;
    let sizes: Sizes = serde_json::from_slice(&header)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("a frame header that is not JSON: {e}")))?;
    let rest = u64::from(n - 4 - h);
    if sizes.b.iter().sum::<u64>() != rest {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "blob sizes that do not add up to the frame"));
    }
    let mut blobs = Vec::with_capacity(sizes.b.len());
    for size in sizes.b {
        let mut blob = vec![0u8; size as usize];
        r.read_exact(&mut blob)?;
        blobs.push(blob);
    }
    Ok(Some(Frame { header, blobs }))
}

/// Writes one frame: `header` (a JSON object, without `b`) and `blobs`.
pub(crate) fn write_frame(w: &mut impl Write, header: &impl Serialize, blobs: &[&[u8]]) -> io::Result<()> {
    let mut json = serde_json::to_value(header).map_err(io::Error::other)?;
    if !blobs.is_empty() {
        if let serde_json::Value::Object(map) = &mut json {
            map.insert("b".into(), blobs.iter().map(|b| b.len()).collect());
        }
    }
    let header = serde_json::to_vec(&json).map_err(io::Error::other)?;
    let total: usize = blobs.iter().map(|b| b.len()).sum();
    let n = u32::try_from(4 + header.len() + total)
        .ok()
        .filter(|&n| n <= MAX_FRAME)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "a reply above 2 GiB"))?;
    let mut out = Vec::with_capacity(8 + header.len() + if total <= 1 << 16 { total } else { 0 });
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    out.extend_from_slice(&header);
    if total <= 1 << 16 {
        for b in blobs {
            out.extend_from_slice(b);
        }
        w.write_all(&out)?;
    } else {
        w.write_all(&out)?;
        for b in blobs {
            w.write_all(b)?;
        }
    }
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn frames_round_trip() {
        let mut pipe = Vec::new();
        write_frame(&mut pipe, &json!({"ok": 1}), &[b"abc", b"", b"de"]).unwrap();
        write_frame(&mut pipe, &json!({}), &[]).unwrap();
        let mut r = &pipe[..];
        let f = read_frame(&mut r).unwrap().unwrap();
        assert_eq!(serde_json::from_slice::<serde_json::Value>(&f.header).unwrap(), json!({"ok": 1, "b": [3, 0, 2]}));
        assert_eq!(f.blobs, vec![b"abc".to_vec(), vec![], b"de".to_vec()]);
        let f = read_frame(&mut r).unwrap().unwrap();
        assert!(f.blobs.is_empty());
        assert!(read_frame(&mut r).unwrap().is_none(), "the end of the stream");
    }

    #[test]
    fn broken_frames_are_errors_not_allocations() {
        let mut huge = Vec::new();
        huge.extend_from_slice(&u32::MAX.to_le_bytes());
        huge.extend_from_slice(&2u32.to_le_bytes());
        assert_eq!(read_frame(&mut &huge[..]).err().unwrap().kind(), io::ErrorKind::InvalidData);
        let mut lying = Vec::new();
        let header = br#"{"b":[10]}"#;
        lying.extend_from_slice(&(4 + header.len() as u32 + 3).to_le_bytes());
        lying.extend_from_slice(&(header.len() as u32).to_le_bytes());
        lying.extend_from_slice(header);
        lying.extend_from_slice(b"abc");
        assert!(read_frame(&mut &lying[..]).unwrap_err().to_string().contains("do not add up"));
        let cut = &lying[..6];
        assert!(read_frame(&mut &cut[..]).is_err(), "a frame cut short");
    }

    #[test]
    fn requests_decode_from_the_shims_json() {
        let send: Request = serde_json::from_str(
            r#"{"op":"send","at":["ring.py",11],"c":0,"dest":1,"tag":0,"mode":"std","obj":true,"b":[20]}"#,
        )
        .unwrap();
        assert!(matches!(send, Request::Send { ref at, dest: 1, mode: Mode::Std, obj: true, .. } if at.1 == 11));
        let raised: Request = serde_json::from_str(
            r#"{"op":"raise","type":"KeyError","message":"'x'","frames":[["a.py",3,"<module>"]],"in":null}"#,
        )
        .unwrap();
        assert!(matches!(raised, Request::Raise(Raised { ref kind, .. }) if kind == "KeyError"));
        assert_eq!(raised.at(), None);
    }

    #[test]
    fn measured_cpu_time_is_read_when_sent() {
        assert_eq!(measured_cpu(br#"{"op":"wtime","at":["a.py",1],"cpu":0.25}"#), 0.25);
        assert_eq!(measured_cpu(br#"{"op":"wtime","at":["a.py",1]}"#), 0.0);
        assert_eq!(measured_cpu(br#"{"cpu":-1}"#), 0.0, "a clock that went back charges nothing");
    }

    #[test]
    fn requests_name_themselves_as_the_protocol_does() {
        let init: Request =
            serde_json::from_str(r#"{"op":"send_init","at":["a.py",4],"c":0,"dest":1,"tag":2}"#).unwrap();
        assert_eq!((init.name(), init.at()), ("send_init".to_string(), Some(&("a.py".to_string(), 4))));
        let comm: Request = serde_json::from_str(r#"{"op":"self_comm","at":["a.py",5]}"#).unwrap();
        assert_eq!(comm.name(), "self_comm");
    }
}
