//! Sequences of plain numbers on the wire without serde's visits: postcard encodes a `u8`,
//! an `f32` and an `f64` as their little-endian bytes, so a vector or slice of them is its
//! length (a LEB128 varint) and then its elements' bytes, which this module writes and
//! reads in one pass. The bytes are exactly postcard's, so sizes, traces and type checks
//! do not change; only the cost does (a 1 KiB `Vec<u8>` went through serde one byte at a
//! time, 81% of a ring hop's instructions).

/// A number whose postcard encoding is its little-endian bytes.
pub(crate) trait Plain: Copy + 'static {
    const SIZE: usize;
    fn put(self, out: &mut Vec<u8>);
    fn get(bytes: &[u8]) -> Self;
}

macro_rules! plain {
    ($($t:ty),*) => {$(
        impl Plain for $t {
            const SIZE: usize = std::mem::size_of::<$t>();
            fn put(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn get(bytes: &[u8]) -> Self {
                <$t>::from_le_bytes(bytes.try_into().expect("chunks of SIZE bytes"))
            }
        }
    )*};
}
plain!(u8, f32, f64);

fn same<A: ?Sized, B: ?Sized>() -> bool {
    typeid::of::<A>() == typeid::of::<B>()
}

/// `value` as a slice of `E` if it is a `Vec<E>` or a `[E]`.
fn as_slice<T: ?Sized, E: Plain>(value: &T) -> Option<&[E]> {
    if same::<T, Vec<E>>() {
        // SAFETY: `T` is `Vec<E>` (same type id; neither has lifetimes to erase).
        return Some(unsafe { &*(value as *const T).cast::<Vec<E>>() });
    }
    if same::<T, [E]>() {
        // SAFETY: `T` is `[E]`, so `&T` and `&[E]` are the same fat pointer.
        return Some(unsafe { std::mem::transmute_copy::<&T, &[E]>(&value) });
    }
    None
}

/// Appends `values`' elements back to back (no length).
fn put_all<E: Plain>(values: &[E], out: &mut Vec<u8>) {
    if E::SIZE == 1 || cfg!(target_endian = "little") {
        // SAFETY: a `Plain` number has no padding and its bytes in memory are, on a
        // little-endian machine (and for `u8` on any), its little-endian bytes: the slice's
        // memory is its encoding, copied at once.
        let bytes = unsafe { std::slice::from_raw_parts(values.as_ptr().cast::<u8>(), std::mem::size_of_val(values)) };
        out.extend_from_slice(bytes);
    } else {
        out.reserve(values.len() * E::SIZE);
        for &v in values {
            v.put(out);
        }
    }
}

/// Reads elements back to back; `None` if `bytes` is not a whole number of them.
fn get_all<E: Plain>(bytes: &[u8]) -> Option<Vec<E>> {
    if bytes.len() % E::SIZE != 0 {
        return None;
    }
    Some(bytes.chunks_exact(E::SIZE).map(E::get).collect())
}

fn put_varint(mut n: u64, out: &mut Vec<u8>) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// postcard's encoding of `value` if it is a vector or slice of a [`Plain`] number.
pub(crate) fn encode<T: ?Sized>(value: &T) -> Option<Vec<u8>> {
    fn seq<E: Plain>(values: &[E]) -> Vec<u8> {
        let mut out = Vec::with_capacity(10 + values.len() * E::SIZE);
        put_varint(values.len() as u64, &mut out);
        put_all(values, &mut out);
        out
    }
    None.or_else(|| as_slice::<T, u8>(value).map(seq))
        .or_else(|| as_slice::<T, f64>(value).map(seq))
        .or_else(|| as_slice::<T, f32>(value).map(seq))
}

/// Decodes `bytes` as `T` if `T` is a vector of a [`Plain`] number: `Some(None)` if the
/// bytes are not one (a wrong length), `None` if `T` is not such a vector.
pub(crate) fn decode<T>(bytes: &[u8]) -> Option<Option<T>> {
    fn seq<T, E: Plain>(bytes: &[u8]) -> Option<Option<T>> {
        same::<T, Vec<E>>().then(|| {
            let (len, rest) = postcard::take_from_bytes::<usize>(bytes).ok()?;
            let values = (rest.len() == len.checked_mul(E::SIZE)?).then(|| get_all::<E>(rest)).flatten()?;
            // SAFETY: `T` is `Vec<E>`; the value is moved, not copied.
            Some(unsafe { std::mem::transmute_copy(&std::mem::ManuallyDrop::new(values)) })
        })
    }
    None.or_else(|| seq::<T, u8>(bytes)).or_else(|| seq::<T, f64>(bytes)).or_else(|| seq::<T, f32>(bytes))
}

/// A collective's elements back to back (no length) into `out` (cleared first, so that a
/// buffer can serve again): whether `T` is a [`Plain`] number (`out` is untouched if not).
pub(crate) fn encode_elements_into<T>(values: &[T], out: &mut Vec<u8>) -> bool {
    fn as_plain<T, E: Plain>(values: &[T], out: &mut Vec<u8>) -> bool {
        same::<T, E>() && {
            // SAFETY: `T` is `E`.
            let values = unsafe { std::slice::from_raw_parts(values.as_ptr().cast::<E>(), values.len()) };
            out.clear();
            put_all(values, out);
            true
        }
    }
    as_plain::<T, f64>(values, out) || as_plain::<T, f32>(values, out) || as_plain::<T, u8>(values, out)
}

/// A collective's elements read back to back into `out` (cleared first, so that its
/// allocation serves every round of a reduction) if `T` is a [`Plain`] number: `Some(false)`
/// for a length that is not a whole number of them, `None` if `T` is not such a number.
pub(crate) fn decode_elements_into<T>(bytes: &[u8], out: &mut Vec<T>) -> Option<bool> {
    fn as_plain<T, E: Plain>(bytes: &[u8], out: &mut Vec<T>) -> Option<bool> {
        same::<T, E>().then(|| {
            // SAFETY: `T` is `E` (same type id), so `Vec<T>` is `Vec<E>`.
            let out = unsafe { &mut *(out as *mut Vec<T>).cast::<Vec<E>>() };
            out.clear();
            if bytes.len() % E::SIZE != 0 {
                return false;
            }
            out.extend(bytes.chunks_exact(E::SIZE).map(E::get));
            true
        })
    }
    None.or_else(|| as_plain::<T, f64>(bytes, out))
        .or_else(|| as_plain::<T, f32>(bytes, out))
        .or_else(|| as_plain::<T, u8>(bytes, out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The fast path writes and reads exactly postcard's bytes.
        #[test]
        fn same_bytes_as_postcard(bytes in proptest::collection::vec(any::<u8>(), 0..600),
                                  floats in proptest::collection::vec(any::<f64>(), 0..300),
                                  singles in proptest::collection::vec(any::<f32>(), 0..300)) {
            prop_assert_eq!(encode(&bytes).unwrap(), postcard::to_allocvec(&bytes).unwrap());
            prop_assert_eq!(encode(&bytes[..]).unwrap(), postcard::to_allocvec(&bytes[..]).unwrap());
            prop_assert_eq!(encode(&floats).unwrap(), postcard::to_allocvec(&floats).unwrap());
            prop_assert_eq!(encode(&singles[..]).unwrap(), postcard::to_allocvec(&singles[..]).unwrap());
            let back: Vec<u8> = decode(&postcard::to_allocvec(&bytes).unwrap()).unwrap().unwrap();
            prop_assert_eq!(back, bytes);
            let back: Vec<f64> = decode(&postcard::to_allocvec(&floats).unwrap()).unwrap().unwrap();
            prop_assert_eq!(back.iter().map(|f| f.to_bits()).collect::<Vec<_>>(),
                            floats.iter().map(|f| f.to_bits()).collect::<Vec<_>>());
        }
    }

    #[test]
    fn other_types_take_the_general_path() {
        assert!(encode(&vec![1u32, 2]).is_none());
        assert!(encode(&7u8).is_none());
        assert!(encode(&[1u8, 2]).is_none(), "an array encodes as a tuple, without a length");
        assert!(decode::<Vec<i64>>(&[0]).is_none());
        let mut out = vec![9];
        assert!(!encode_elements_into(&[1u64], &mut out));
        assert_eq!(out, [9], "a type not plain leaves the buffer as it was");
        assert!(encode_elements_into(&[1.5f64], &mut out));
        assert_eq!(out, 1.5f64.to_le_bytes());
    }

    #[test]
    fn wrong_lengths_are_refused() {
        assert_eq!(decode::<Vec<f64>>(&[2, 0, 0, 0, 0, 0, 0, 0, 0]), Some(None));
        assert_eq!(decode::<Vec<u8>>(&[3, 1, 2]), Some(None));
        assert_eq!(decode::<Vec<u8>>(&[]), Some(None));
        let mut out = vec![1.0f64];
        assert_eq!(decode_elements_into::<f64>(&[0; 12], &mut out), Some(false));
        assert_eq!(decode_elements_into::<f64>(&[0; 16], &mut out), Some(true));
        assert_eq!(out, [0.0, 0.0], "cleared, then filled");
        assert_eq!(decode_elements_into::<u32>(&[0; 4], &mut Vec::new()), None);
    }
}
