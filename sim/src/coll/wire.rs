//! Collective data on the wire. A message is the postcard encoding of what it carries and
//! nothing else, so its size is exactly the bytes the algorithm moves:
//! - blocks (one rank's part in scatter, gather, allgather, alltoall): encoded values
//!   back to back; postcard values delimit themselves, so a message of k blocks splits
//!   without length prefixes;
//! - a bcast's value: its encoding, cut into byte chunks by the scatter-based algorithms;
//! - a reduction's operand: its elements' encodings back to back (the vector's length is
//!   not sent: every rank passes the same count).
//!
//! Every payload carries the name of the type it holds, so a rank that calls a collective
//! with another type than its peers gets an error that names both.

use crate::call::{ErrorClass, MpiError};
use crate::codec::{plain, written, written_pair, Payload};
use crate::Rank;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Encodes one value.
pub(crate) fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, MpiError> {
    crate::codec::to_bytes(value).map_err(|e| {
        let name = written(std::any::type_name::<T>());
        MpiError::new(ErrorClass::Type, format!("cannot encode a value of type `{name}`: {e}"))
    })
}

/// A payload of `bytes` holding values of the type named `type_name`.
pub(crate) fn payload(type_name: &'static str, bytes: Vec<u8>) -> Payload {
    Payload { bytes, type_name }
}

/// Checks that a received payload holds the type this rank expects.
pub(crate) fn check_type(p: &Payload, expected: &'static str, from: Rank) -> Result<(), MpiError> {
    if p.type_name == expected {
        return Ok(());
    }
    let (theirs, ours) = written_pair(p.type_name, expected);
    Err(MpiError::new(
        ErrorClass::Type,
        format!(
            "rank {from} takes part in this collective with values of type `{theirs}` but this rank with `{ours}`; \
             every rank must pass the same type"
        ),
    ))
}

fn malformed(from: Rank, what: &str, expected: &'static str) -> MpiError {
    MpiError::new(
        ErrorClass::Type,
        format!(
            "the data from rank {from} does not decode as {what} of type `{}`; every rank must pass the same type",
            written(expected)
        ),
    )
}

/// How the blocks of one collective split: values of type `T`, `counts[i]` of them in the
/// block of rank `i` (one each unless a v-variant says otherwise).
#[derive(Clone)]
pub(crate) struct Blocks {
    pub type_name: &'static str,
    first_len: fn(&[u8]) -> Option<usize>,
    counts: Option<Vec<usize>>,
}

fn first_len<T: DeserializeOwned>(bytes: &[u8]) -> Option<usize> {
    postcard::take_from_bytes::<T>(bytes).ok().map(|(_, rest)| bytes.len() - rest.len())
}

impl Blocks {
    /// One value of `T` per block.
    pub fn of<T: DeserializeOwned>() -> Blocks {
        Blocks { type_name: std::any::type_name::<T>(), first_len: first_len::<T>, counts: None }
    }

    /// `counts[i]` values of `T` in block `i`.
    pub fn counted<T: DeserializeOwned>(counts: Vec<usize>) -> Blocks {
        Blocks { counts: Some(counts), ..Blocks::of::<T>() }
    }

    fn values_in(&self, block: usize) -> usize {
        self.counts.as_ref().map_or(1, |c| c[block])
    }

    /// A message of blocks, back to back.
    pub fn join<'a>(&self, blocks: impl IntoIterator<Item = &'a Vec<u8>>) -> Payload {
        let mut bytes = Vec::new();
        for b in blocks {
            bytes.extend_from_slice(b);
        }
        payload(self.type_name, bytes)
    }

    fn cannot_split(&self, from: Rank) -> MpiError {
        match &self.counts {
            Some(counts) => MpiError::new(
                ErrorClass::Count,
                format!(
                    "mismatched counts: the data from rank {from} does not hold the values this rank's counts {counts:?} \
                     call for; every rank must pass the same counts"
                ),
            ),
            None => malformed(from, "blocks", self.type_name),
        }
    }

    /// Splits a message from `from` into the blocks `ids` (in order).
    pub fn split(
        &self,
        p: &Payload,
        ids: impl IntoIterator<Item = usize>,
        from: Rank,
    ) -> Result<Vec<Vec<u8>>, MpiError> {
        check_type(p, self.type_name, from)?;
        let mut rest = &p.bytes[..];
        let mut out = Vec::new();
        for id in ids {
            let mut len = 0;
            for _ in 0..self.values_in(id) {
                len += (self.first_len)(&rest[len..]).ok_or_else(|| self.cannot_split(from))?;
            }
            out.push(rest[..len].to_vec());
            rest = &rest[len..];
        }
        if !rest.is_empty() {
            return Err(self.cannot_split(from));
        }
        Ok(out)
    }
}

/// Decodes one block of one value.
pub(crate) fn decode_value<T: DeserializeOwned>(bytes: &[u8], from: Rank) -> Result<T, MpiError> {
    crate::codec::from_bytes(bytes).ok_or_else(|| malformed(from, "a value", std::any::type_name::<T>()))
}

/// Decodes a block of values back to back.
pub(crate) fn decode_values<T: DeserializeOwned>(bytes: &[u8], from: Rank) -> Result<Vec<T>, MpiError> {
    let mut out = Vec::new();
    decode_values_into(bytes, from, &mut out)?;
    Ok(out)
}

/// [`decode_values`] into `out` (cleared first), keeping its allocation.
pub(crate) fn decode_values_into<T: DeserializeOwned>(
    mut bytes: &[u8],
    from: Rank,
    out: &mut Vec<T>,
) -> Result<(), MpiError> {
    let bad = || malformed(from, "values", std::any::type_name::<T>());
    if let Some(whole) = plain::decode_elements_into::<T>(bytes, out) {
        return if whole { Ok(()) } else { Err(bad()) };
    }
    out.clear();
    // Each value takes at least a byte; most numbers take their size or less.
    out.reserve(bytes.len() / std::mem::size_of::<T>().max(1));
    while !bytes.is_empty() {
        let (v, rest) = postcard::take_from_bytes::<T>(bytes).map_err(|_| bad())?;
        out.push(v);
        bytes = rest;
    }
    Ok(())
}

/// Encodes values back to back, in a vector of their size in memory: a plain number's
/// encoding exactly (growing an empty vector goes through the allocator's out-of-line
/// `reserve`, on every message of a reduction), and a fair start for others.
pub(crate) fn encode_values<T: Serialize>(values: &[T]) -> Result<Vec<u8>, MpiError> {
    encode_values_into(values, Vec::with_capacity(std::mem::size_of_val(values)))
}

/// [`encode_values`] into `bytes` (cleared first), keeping its allocation.
pub(crate) fn encode_values_into<T: Serialize>(values: &[T], mut bytes: Vec<u8>) -> Result<Vec<u8>, MpiError> {
    if plain::encode_elements_into(values, &mut bytes) {
        return Ok(bytes);
    }
    bytes.clear();
    for v in values {
        bytes = postcard::to_extend(v, bytes).map_err(|e| {
            let name = written(std::any::type_name::<T>());
            MpiError::new(ErrorClass::Type, format!("cannot encode a value of type `{name}`: {e}"))
        })?;
    }
    Ok(bytes)
}

/// A reduction's elements as a payload.
pub(crate) fn elements<E: Serialize>(values: &[E]) -> Result<Payload, MpiError> {
    Ok(payload(std::any::type_name::<E>(), encode_values(values)?))
}

/// [`elements`] in `spare`'s allocation (a received payload's, as a reduction's next
/// round sends what it just folded).
pub(crate) fn elements_into<E: Serialize>(values: &[E], spare: Vec<u8>) -> Result<Payload, MpiError> {
    Ok(payload(std::any::type_name::<E>(), encode_values_into(values, spare)?))
}

/// The elements of a received payload.
pub(crate) fn take_elements<E: DeserializeOwned>(p: &Payload, from: Rank) -> Result<Vec<E>, MpiError> {
    let mut out = Vec::new();
    take_elements_into(p, from, &mut out)?;
    Ok(out)
}

/// [`take_elements`] into `out` (cleared first), keeping its allocation.
pub(crate) fn take_elements_into<E: DeserializeOwned>(
    p: &Payload,
    from: Rank,
    out: &mut Vec<E>,
) -> Result<(), MpiError> {
    check_type(p, std::any::type_name::<E>(), from)?;
    decode_values_into(&p.bytes, from, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A spare buffer's old bytes never leak into what is encoded in it, and what is
    /// decoded into a used vector replaces its values.
    #[test]
    fn reused_buffers_hold_only_the_new_values() {
        let stale = || vec![0xAB; 40];
        let floats = [1.5f64, -2.0, 3.25];
        assert_eq!(elements_into(&floats, stale()).unwrap(), elements(&floats).unwrap());
        let bytes = [7u8, 8];
        assert_eq!(elements_into(&bytes, stale()).unwrap(), elements(&bytes).unwrap());
        let pairs = [(1.0f64, 2usize), (3.0, 4)];
        let p = elements_into(&pairs, stale()).unwrap();
        assert_eq!(p, elements(&pairs).unwrap());
        let mut out = vec![(9.0, 9), (9.0, 9), (9.0, 9)];
        take_elements_into::<(f64, usize)>(&p, 1, &mut out).unwrap();
        assert_eq!(out, pairs);
        let mut out = vec![0.0; 7];
        take_elements_into::<f64>(&elements(&floats).unwrap(), 1, &mut out).unwrap();
        assert_eq!(out, floats);
    }

    #[test]
    fn blocks_split_without_prefixes() {
        let b = Blocks::of::<String>();
        let parts = [encode("a").unwrap(), encode("bcd").unwrap(), encode("").unwrap()];
        let p = b.join(&parts);
        assert_eq!(p.len(), 2 + 4 + 1);
        assert_eq!(b.split(&p, 0..3, 1).unwrap(), parts.to_vec());
        assert!(b.split(&p, 0..2, 1).is_err());
        let wrong = payload("i32", p.bytes.clone());
        assert!(b.split(&wrong, 0..3, 4).unwrap_err().message.contains("rank 4"));
    }

    #[test]
    fn counted_blocks_hold_several_values() {
        let b = Blocks::counted::<u8>(vec![2, 0, 1]);
        let parts = [encode_values(&[1u8, 2]).unwrap(), vec![], encode_values(&[3u8]).unwrap()];
        assert_eq!(b.split(&b.join(&parts), 0..3, 0).unwrap(), parts.to_vec());
        assert_eq!(decode_values::<u8>(&parts[0], 0).unwrap(), vec![1, 2]);
    }
}
