//! What a Python rank's messages hold, as engine values: a pickle (the lowercase methods),
//! a buffer's bytes (the uppercase ones), and fixed-width buffer elements for reductions.
//!
//! A pickle or a buffer is encoded as its bytes after postcard's length prefix (1 byte
//! below 128 bytes, 2 below 16 KiB, 3 below 2 MiB, 4 below 256 MiB): values in the
//! engine's collectives delimit themselves. A reduction's element is exactly its width,
//! so the messages of `Allreduce` are the buffer's bytes.

use crate::coll::ops::{Element, OpError, ReduceOp};
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeTuple, Serializer};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::fmt;

macro_rules! byte_value {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Default)]
        pub(crate) struct $name(pub Vec<u8>);

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<$name, D::Error> {
                struct Bytes;
                impl<'de> Visitor<'de> for Bytes {
                    type Value = Vec<u8>;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str("bytes")
                    }
                    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
                        Ok(v.to_vec())
                    }
                    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
                        Ok(v)
                    }
                }
                d.deserialize_byte_buf(Bytes).map($name)
            }
        }
    };
}

byte_value!(
    /// A pickled Python object: what mpi4py's lowercase methods send.
    Pickle
);
byte_value!(
    /// The bytes of a buffer (a numpy array, bytearray, …): what the uppercase methods send.
    Buffer
);

/// The payload bytes of a pickle or buffer whose message is `wire` bytes long: the message
/// less its length prefix (what mpi4py's `Status.Get_count()` says).
pub(crate) fn payload_len(wire: u64) -> u64 {
    (wire.saturating_sub(5)..=wire).find(|&n| n + prefix_len(n) == wire).unwrap_or(wire)
}

fn prefix_len(n: u64) -> u64 {
    let bits = 64 - u64::from(n.leading_zeros());
    bits.div_ceil(7).max(1)
}

/// A number that a buffer holds, as its little-endian bytes.
pub(crate) trait Width: Element + Copy {
    /// Bytes per element.
    const WIDTH: usize;
    /// The element of `bytes` (exactly `WIDTH` of them).
    fn read(bytes: &[u8]) -> Self;
    /// Appends the element's bytes.
    fn write(self, out: &mut Vec<u8>);
}

macro_rules! width {
    ($($t:ty),*) => {$(
        impl Width for $t {
            const WIDTH: usize = std::mem::size_of::<$t>();
            fn read(bytes: &[u8]) -> $t {
                <$t>::from_le_bytes(bytes.try_into().expect("one element's bytes"))
            }
            fn write(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
        }
    )*};
}

width!(i8, u8, i16, u16, i32, u32, i64, u64, f32, f64);

impl Width for bool {
    const WIDTH: usize = 1;
    fn read(bytes: &[u8]) -> bool {
        bytes[0] != 0
    }
    fn write(self, out: &mut Vec<u8>) {
        out.push(u8::from(self));
    }
}

/// One element of a buffer in a reduction: MPI's operator applies to the number, and it
/// travels as exactly its width (postcard would shorten integers).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Fixed<T>(pub T);

impl<T: Width> Fixed<T> {
    /// The elements of a buffer of `T`s; `None` if its length is not a whole number of them.
    pub(crate) fn elements(bytes: &[u8]) -> Option<Vec<Fixed<T>>> {
        (bytes.len() % T::WIDTH == 0).then(|| bytes.chunks_exact(T::WIDTH).map(|c| Fixed(T::read(c))).collect())
    }

    /// The bytes of a buffer of these elements.
    pub(crate) fn bytes(elements: &[Fixed<T>]) -> Vec<u8> {
        let mut out = Vec::with_capacity(elements.len() * T::WIDTH);
        for e in elements {
            e.0.write(&mut out);
        }
        out
    }
}

impl<T: Width> Serialize for Fixed<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut bytes = Vec::with_capacity(T::WIDTH);
        self.0.write(&mut bytes);
        let mut t = s.serialize_tuple(T::WIDTH)?;
        for b in &bytes {
            t.serialize_element(b)?;
        }
        t.end()
    }
}

impl<'de, T: Width> Deserialize<'de> for Fixed<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Fixed<T>, D::Error> {
        struct Elem<T>(std::marker::PhantomData<T>);
        impl<'de, T: Width> Visitor<'de> for Elem<T> {
            type Value = Fixed<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{} bytes", T::WIDTH)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Fixed<T>, A::Error> {
                let mut bytes = [0u8; 16];
                for (i, slot) in bytes.iter_mut().take(T::WIDTH).enumerate() {
                    *slot = seq.next_element()?.ok_or_else(|| de::Error::invalid_length(i, &self))?;
                }
                Ok(Fixed(T::read(&bytes[..T::WIDTH])))
            }
        }
        d.deserialize_tuple(T::WIDTH, Elem(std::marker::PhantomData))
    }
}

impl<T: Width> Element for Fixed<T> {
    fn apply(op: ReduceOp, a: &Self, b: &Self) -> Result<Self, OpError> {
        T::apply(op, &a.0, &b.0).map(Fixed)
    }

    fn order(a: &Self, b: &Self) -> Option<Ordering> {
        T::order(&a.0, &b.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::encoded_len;

    #[test]
    fn a_pickle_costs_its_bytes_and_a_prefix() {
        for n in [0usize, 5, 127, 128, 16_383, 16_384, 1 << 21, 4_888_896] {
            let wire = encoded_len(&Pickle(vec![7; n]));
            assert_eq!(wire, n as u64 + prefix_len(n as u64), "{n}");
            assert_eq!(payload_len(wire), n as u64, "{n}");
        }
        let bytes = postcard::to_allocvec(&Buffer(vec![1, 2, 3])).unwrap();
        assert_eq!(bytes, [3, 1, 2, 3]);
        assert_eq!(postcard::from_bytes::<Buffer>(&bytes).unwrap(), Buffer(vec![1, 2, 3]));
    }

    #[test]
    fn buffer_elements_travel_at_their_width() {
        assert_eq!(encoded_len(&vec![Fixed(1i32), Fixed(-1)]), 1 + 8);
        let one = postcard::to_allocvec(&Fixed(-2i64)).unwrap();
        assert_eq!(one, (-2i64).to_le_bytes());
        assert_eq!(postcard::from_bytes::<Fixed<i64>>(&one).unwrap(), Fixed(-2));
        let xs = Fixed::<f64>::elements(&Fixed::bytes(&[Fixed(1.5), Fixed(-0.25)])).unwrap();
        assert_eq!(xs, vec![Fixed(1.5), Fixed(-0.25)]);
        assert!(Fixed::<i32>::elements(&[0; 6]).is_none(), "6 bytes are not whole int32s");
        assert_eq!(Fixed::apply(ReduceOp::Sum, &Fixed(i32::MAX), &Fixed(1)), Ok(Fixed(i32::MIN)), "C's wrap-around");
        assert_eq!(Fixed::apply(ReduceOp::Land, &Fixed(true), &Fixed(false)), Ok(Fixed(false)));
    }
}
