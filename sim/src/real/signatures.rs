//! Collective signatures compared across the ranks of a real run, as the simulator
//! compares them ([`CollSignature`]): a real library often lets a bcast whose ranks
//! disagree on the root "complete" with wrong data, where MPI says the program is
//! erroneous (MPI_ERR_ROOT).
//!
//! At each collective a rank begins, its communicator's rank 0 broadcasts its signature
//! and site (`MPI_Ibcast` of a fixed-size record on a duplicate of the communicator kept
//! for this, so the k-th broadcast there is the k-th collective) and every other member
//! compares it with its own. The broadcast is nonblocking and tested in every later call
//! of the rank: the check never makes a collective synchronise that the library would not,
//! so it adds no deadlock a real run would not have. A rank finishing its program first
//! completes its pending checks.

use crate::call::{CallKind, CollSignature, MpiError};
use crate::site::CallSite;
use crate::trace::Site;
use crate::Rank;
use mpi::ffi;
use serde::{Deserialize, Serialize};

/// Bytes of a record: a length, then postcard bytes (a long file name loses its start).
const RECORD: usize = 256;

/// What rank 0 of a communicator says of its collective at a position.
#[derive(Serialize, Deserialize)]
struct Record {
    sig: CollSignature,
    site: Site,
}

/// One rank's check of one collective.
struct Check {
    /// SAFETY invariant: MPI reads (at the root) or writes `buffer` until `request`
    /// completes; the buffer is on the heap, so moving the check does not move it.
    request: ffi::MPI_Request,
    buffer: Box<[u8; RECORD]>,
    /// Nothing to compare: this rank is the root of the broadcast.
    root: bool,
    mine: CollSignature,
    site: CallSite,
    comm: u32,
    position: u64,
    /// The world rank of the communicator's rank 0.
    first: Rank,
}

/// A check that failed: the call and site to report, and the error.
pub(super) struct Mismatch {
    pub kind: CallKind,
    pub site: CallSite,
    pub error: MpiError,
}

/// A rank's pending checks, oldest first.
#[derive(Default)]
pub(super) struct Checks {
    pending: Vec<Check>,
}

impl Checks {
    /// Posts the check of the collective at `position` (0-based) on communicator `comm`,
    /// whose duplicate for checks is `raw`; `first` is the world rank of its rank 0, and
    /// `me_first` whether that is this rank. A communicator of one has nothing to check.
    #[allow(clippy::too_many_arguments)]
    pub fn post(
        &mut self,
        raw: ffi::MPI_Comm,
        size: usize,
        comm: u32,
        position: u64,
        first: Rank,
        me_first: bool,
        mine: CollSignature,
        site: CallSite,
    ) {
        if size < 2 {
            return;
        }
        let mut buffer = Box::new([0u8; RECORD]);
        if me_first {
            encode(&Record { sig: mine.clone(), site: site.site() }, &mut buffer);
        }
        let mut request = unsafe { ffi::RSMPI_REQUEST_NULL };
        // SAFETY: the buffer moves into the check with the request and stays until MPI
        // completes it (see `Check`).
        unsafe { ffi::MPI_Ibcast(buffer.as_mut_ptr().cast(), RECORD as i32, ffi::RSMPI_UINT8_T, 0, raw, &mut request) };
        self.pending.push(Check { request, buffer, root: me_first, mine, site, comm, position, first });
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Tests the pending checks; the first that completed with a mismatch, for `rank`.
    pub fn test(&mut self, rank: Rank) -> Option<Mismatch> {
        let mut found = None;
        self.pending.retain_mut(|c| {
            if found.is_some() {
                return true;
            }
            let mut flag = 0;
            // SAFETY: the request is live; its buffer is in the same check.
            unsafe { ffi::MPI_Test(&mut c.request, &mut flag, ffi::RSMPI_STATUS_IGNORE) };
            if flag == 0 {
                return true;
            }
            if !c.root {
                found = compare(c, rank);
            }
            false
        });
        found
    }
}

impl Drop for Checks {
    fn drop(&mut self) {
        for c in self.pending.drain(..) {
            let mut request = c.request;
            // SAFETY: the request is live; its buffer is leaked, never freed under it.
            unsafe { ffi::MPI_Request_free(&mut request) };
            std::mem::forget(c.buffer);
        }
    }
}

/// Rank 0's record against this rank's signature. Only mpisim broadcasts on the check
/// communicator, so every record reads back.
fn compare(c: &Check, rank: Rank) -> Option<Mismatch> {
    let theirs = decode(&c.buffer[..])?;
    let error = c.mine.check(&crate::words::comm_name(c.comm), c.position, rank, c.first, &theirs.sig, &theirs.site)?;
    Some(Mismatch { kind: c.mine.kind, site: c.site, error })
}

fn encode(record: &Record, out: &mut [u8; RECORD]) {
    let mut record = Record { sig: record.sig.clone(), site: record.site.clone() };
    loop {
        let bytes = postcard::to_allocvec(&record).expect("records encode");
        if bytes.len() + 2 <= RECORD {
            out[..2].copy_from_slice(&(bytes.len() as u16).to_le_bytes());
            out[2..2 + bytes.len()].copy_from_slice(&bytes);
            return;
        }
        // Too long for a record: keep the end of the file name, which says the most.
        let file = record.site.file.to_string();
        let cut = file.char_indices().nth(file.chars().count() / 2).map_or(0, |(i, _)| i);
        record.site.file = format!("…{}", &file[cut..]).into();
    }
}

fn decode(buffer: &[u8]) -> Option<Record> {
    let len = u16::from_le_bytes([*buffer.first()?, *buffer.get(1)?]) as usize;
    postcard::from_bytes(buffer.get(2..2 + len)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_long_names_keep_their_end() {
        let sig = CollSignature { kind: CallKind::Reduce, root: Some(2), op: Some("MPI_SUM".into()), count: Some(3) };
        let mut buffer = [0u8; RECORD];
        encode(
            &Record { sig: sig.clone(), site: Site { file: "src/main.rs".into(), line: 9, column: 5 } },
            &mut buffer,
        );
        let back = decode(&buffer).expect("a record");
        assert_eq!((back.sig, back.site.to_string()), (sig.clone(), "src/main.rs:9:5".to_string()));

        let long = format!("{}/main.rs", "deep/".repeat(100));
        encode(&Record { sig, site: Site { file: long.into(), line: 1, column: 1 } }, &mut buffer);
        let back = decode(&buffer).expect("a record");
        assert!(back.site.file.starts_with('…') && back.site.file.ends_with("deep/main.rs"), "{}", back.site.file);
        assert!(decode(&[0xff, 0xff, 0]).is_none());
    }
}
