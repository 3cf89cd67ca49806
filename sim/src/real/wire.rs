//! Messages on real MPI: a 16-byte header in front of the postcard bytes, and the names
//! behind the ids in it.
//!
//! A message's size must be known from its MPI count alone, so that a probe's
//! [`Status::count`](crate::Status) is the payload's length as in the simulator: the header
//! is therefore fixed, two FNV-1a hashes: of the sender's type name, and of the call and
//! site that sent it. The texts, which a receive needs to decode (and to name both types
//! when they differ) and a report needs to say where an unreceived message came from,
//! travel once per (destination, text) as *announcements* on a communicator of their own,
//! always before the first message that uses them. At the end of a run every rank
//! receives the announcements it never needed, so that no send is left pending at
//! `MPI_Finalize`.

use crate::call::CallKind;
use crate::codec::Payload;
use crate::site::CallSite;
use crate::trace::Site;
use crate::Rank;
use mpi::ffi;
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;
use std::collections::{BTreeMap, BTreeSet};

/// Bytes of the header in front of every message.
pub(super) const HEADER: usize = 16;

/// The id of a text (a type name, a call site): FNV-1a, 64 bits, the same in every process.
pub(super) fn text_id(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

/// The ids in a message's header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Header {
    /// Of the value's type name.
    pub type_id: u64,
    /// Of the sending call and its site (see [`site_text`]).
    pub site_id: u64,
}

/// A payload as it goes on the wire: header, then the value's bytes.
pub(super) fn frame(payload: &Payload, site_id: u64) -> Vec<u8> {
    let mut wire = Vec::with_capacity(HEADER + payload.bytes.len());
    wire.extend_from_slice(&text_id(payload.type_name).to_le_bytes());
    wire.extend_from_slice(&site_id.to_le_bytes());
    wire.extend_from_slice(&payload.bytes);
    wire
}

/// The header of a received message, and its value's bytes.
pub(super) fn unframe(mut wire: Vec<u8>) -> Option<(Header, Vec<u8>)> {
    let header = peek(&wire)?;
    wire.drain(..HEADER);
    Some((header, wire))
}

/// The header of a received message.
pub(super) fn peek(wire: &[u8]) -> Option<Header> {
    let word = |i: usize| wire.get(i * 8..i * 8 + 8).map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")));
    Some(Header { type_id: word(0)?, site_id: word(1)? })
}

/// How a sending call and its site are announced: `send@src/main.rs:12:5`.
pub(super) fn site_text(kind: CallKind, site: CallSite) -> String {
    format!("{kind}@{}:{}:{}", site.file(), site.line(), site.column())
}

/// The call and site of a [`site_text`].
pub(super) fn parse_site(text: &str) -> Option<(CallKind, Site)> {
    let (kind, place) = text.split_once('@')?;
    let kind: CallKind = serde_json::from_value(serde_json::Value::String(kind.to_string())).ok()?;
    let mut parts = place.rsplitn(3, ':');
    let column = parts.next()?.parse().ok()?;
    let line = parts.next()?.parse().ok()?;
    let file = parts.next()?.to_string();
    Some((kind, Site { file: file.into(), line, column }))
}

/// An announcement in flight, with the buffer MPI reads from.
struct Outgoing {
    request: ffi::MPI_Request,
    _buffer: Vec<u8>,
}

/// The texts behind ids: those this process has sent, and those it learnt from
/// announcements.
pub(super) struct Names {
    comm: SimpleCommunicator,
    /// Names learnt from other processes are kept for the life of the process (one small
    /// string per type and call site of the program), as `type_name` keeps its own.
    known: BTreeMap<u64, &'static str>,
    /// Ids of this process's call sites, by the site's address and the call.
    sites: BTreeMap<(usize, CallKind), u64>,
    /// (destination world rank, id) already announced.
    announced: BTreeSet<(Rank, u64)>,
    sent: Vec<u32>,
    received: Vec<u32>,
    outgoing: Vec<Outgoing>,
}

impl Names {
    /// Names on `comm`, a communicator over every world rank used for nothing else.
    pub fn new(comm: SimpleCommunicator) -> Names {
        let n = comm.size() as usize;
        Names {
            comm,
            known: BTreeMap::new(),
            sites: BTreeMap::new(),
            announced: BTreeSet::new(),
            sent: vec![0; n],
            received: vec![0; n],
            outgoing: Vec::new(),
        }
    }

    /// The id of a sending call and its site; world rank `dest` can name it before it
    /// gets the message.
    pub fn site(&mut self, kind: CallKind, site: CallSite, dest: Rank) -> u64 {
        let id = match self.sites.get(&(site.key(), kind)) {
            Some(&id) => id,
            None => {
                let text: &'static str = Box::leak(site_text(kind, site).into_boxed_str());
                let id = text_id(text);
                self.sites.insert((site.key(), kind), id);
                self.known.insert(id, text);
                id
            }
        };
        self.announce(id, dest);
        id
    }

    /// Makes sure world rank `dest` can name the type of `payload` before it gets it.
    pub fn announce_type(&mut self, payload: &Payload, dest: Rank) {
        let id = text_id(payload.type_name);
        self.known.insert(id, payload.type_name);
        self.announce(id, dest);
    }

    fn announce(&mut self, id: u64, dest: Rank) {
        if !self.announced.insert((dest, id)) {
            return;
        }
        let mut buffer = id.to_le_bytes().to_vec();
        buffer.extend_from_slice(self.known[&id].as_bytes());
        let mut request = unsafe { ffi::RSMPI_REQUEST_NULL };
        // SAFETY: `buffer` is owned by the `Outgoing` kept until the request completes in
        // `finish`; moving a Vec does not move its heap data.
        unsafe {
            ffi::MPI_Isend(
                buffer.as_ptr().cast(),
                buffer.len() as i32,
                ffi::RSMPI_UINT8_T,
                dest as i32,
                0,
                self.comm.as_raw(),
                &mut request,
            );
        }
        self.sent[dest] += 1;
        self.outgoing.push(Outgoing { request, _buffer: buffer });
    }

    /// The text of `id` sent by world rank `source`: known already, or in one of the
    /// announcements `source` sent before the message.
    pub fn resolve(&mut self, id: u64, source: Rank) -> Option<&'static str> {
        while !self.known.contains_key(&id) {
            self.receive_one(source)?;
        }
        self.known.get(&id).copied()
    }

    /// Receives the next announcement from world rank `source`.
    fn receive_one(&mut self, source: Rank) -> Option<()> {
        let (bytes, _) = self.comm.process_at_rank(source as i32).receive_vec_with_tag::<u8>(0);
        self.received[source] += 1;
        let id = u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?);
        let text = String::from_utf8(bytes[8..].to_vec()).ok()?;
        self.known.entry(id).or_insert_with(|| Box::leak(text.into_boxed_str()));
        Some(())
    }

    /// Waits until every world rank has called it.
    pub fn barrier(&self) {
        self.comm.barrier();
    }

    /// Collective over every world rank: receives the announcements this rank never needed
    /// and completes its own, so that nothing is pending at `MPI_Finalize`.
    pub fn finish(&mut self) {
        let mut expected = vec![0u32; self.sent.len()];
        self.comm.all_to_all_into(&self.sent[..], &mut expected[..]);
        for (source, &count) in expected.iter().enumerate() {
            while self.received[source] < count {
                self.receive_one(source);
            }
        }
        for mut out in self.outgoing.drain(..) {
            // SAFETY: the request is live and its buffer is alive until this returns.
            unsafe {
                ffi::MPI_Wait(&mut out.request, ffi::RSMPI_STATUS_IGNORE);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let payload = crate::codec::encode(&vec![1u16, 2, 3]).unwrap();
        let wire = frame(&payload, 42);
        assert_eq!(wire.len(), HEADER + payload.bytes.len());
        let (header, bytes) = unframe(wire).unwrap();
        assert_eq!(header, Header { type_id: text_id("alloc::vec::Vec<u16>"), site_id: 42 });
        assert_eq!(bytes, payload.bytes);
        assert!(unframe(vec![1, 2, 3]).is_none());
    }

    #[test]
    fn ids_are_fnv1a() {
        // Reference values of FNV-1a 64.
        assert_eq!(text_id(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(text_id("a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn sites_round_trip() {
        let here = CallSite::here();
        let text = site_text(CallKind::Isend, here);
        assert!(text.starts_with("isend@"), "{text}");
        let (kind, site) = parse_site(&text).unwrap();
        assert_eq!(kind, CallKind::Isend);
        assert_eq!(site, here.site());
        assert_eq!(parse_site("nonsense"), None);
    }
}
