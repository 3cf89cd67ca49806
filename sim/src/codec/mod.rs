//! Values on the wire: any serde value, encoded with postcard. The encoded length is the
//! message size the cost model charges; the type's name travels beside it so that a
//! receive of the wrong type is an error that names both types.

use serde::de::DeserializeOwned;
use serde::Serialize;

pub(crate) mod plain;

/// An encoded value and the name of its type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Payload {
    pub bytes: Vec<u8>,
    pub type_name: &'static str,
}

impl Payload {
    pub fn len(&self) -> u64 {
        self.bytes.len() as u64
    }
}

/// Encodes `value`. Encoding into a `Vec` fails only for types serde cannot represent
/// (a map with non-string keys is fine; an unsized iterator is not), which is a bug.
pub(crate) fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Payload, String> {
    to_bytes(value)
        .map(|bytes| Payload { bytes, type_name: std::any::type_name::<T>() })
        .map_err(|e| format!("cannot encode a value of type `{}`: {e}", written(std::any::type_name::<T>())))
}

/// postcard's encoding of `value`, in a vector allocated once at its final size (vectors
/// and slices of plain numbers without serde, see [`plain`]).
pub(crate) fn to_bytes<T: Serialize + ?Sized>(value: &T) -> postcard::Result<Vec<u8>> {
    if let Some(bytes) = plain::encode(value) {
        return Ok(bytes);
    }
    let len = postcard::experimental::serialized_size(value)?;
    postcard::to_extend(value, Vec::with_capacity(len))
}

/// Decodes all of `bytes` as `T`, or `None` if they are not one whole `T`.
pub(crate) fn from_bytes<T: DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    if let Some(value) = plain::decode::<T>(bytes) {
        return value;
    }
    match postcard::take_from_bytes::<T>(bytes) {
        Ok((value, [])) => Some(value),
        _ => None,
    }
}

/// Why a payload could not be decoded as the type the receiver asked for. The names are
/// as a program writes them ([`written`]): `Vec<f64>`, not `alloc::vec::Vec<f64>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TypeMismatch {
    pub sent: String,
    pub expected: String,
}

impl TypeMismatch {
    /// The mismatch of the types named `sent` and `expected` (as `std::any::type_name`
    /// gives them), each written as short as tells them apart.
    pub fn new(sent: &str, expected: &str) -> TypeMismatch {
        let (sent, expected) = written_pair(sent, expected);
        TypeMismatch { sent, expected }
    }
}

/// A type's name as a program writes it: `Vec<f64>` for `alloc::vec::Vec<f64>`,
/// `BTreeMap<String, f64>` for `alloc::collections::btree::map::BTreeMap<alloc::string::
/// String, f64>`: every path cut to its last segment.
pub(crate) fn written(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    // Where the path being read began in `out`: a `::` cuts `out` back to it.
    let mut path_start = 0;
    let mut chars = name.char_indices();
    while let Some((i, c)) = chars.next() {
        if c == ':' && name[i..].starts_with("::") {
            chars.next();
            if out.ends_with('>') {
                out.push_str("::"); // `Foo<T>::Assoc`: a segment after generics stays
            } else {
                out.truncate(path_start);
            }
        } else {
            out.push(c);
            if !(c.is_alphanumeric() || c == '_') {
                path_start = out.len();
            }
        }
    }
    out
}

/// Two type names written short, unless that makes them look alike (`a::Point` and
/// `b::Point`): then in full, so an error about them never names the same type twice.
pub(crate) fn written_pair(a: &str, b: &str) -> (String, String) {
    let (short_a, short_b) = (written(a), written(b));
    if short_a == short_b && a != b {
        (a.to_string(), b.to_string())
    } else {
        (short_a, short_b)
    }
}

/// Decodes a payload as `T`. The types must agree by name (up to references, slices
/// standing for `Vec`, and `str` for `String`), and the bytes must decode fully. Arrays
/// `[T; N]` encode as tuples, without a length, so they do not stand for `Vec`.
pub(crate) fn decode<T: DeserializeOwned>(payload: &Payload) -> Result<T, TypeMismatch> {
    let expected = std::any::type_name::<T>();
    let mismatch = || TypeMismatch::new(payload.type_name, expected);
    if payload.type_name != expected && normalise(payload.type_name) != normalise(expected) {
        return Err(mismatch());
    }
    from_bytes(&payload.bytes).ok_or_else(mismatch)
}

/// The name under which two types encode alike: `&T` as `T`, `[T]` as `Vec<T>`, `str` as
/// `String`.
fn normalise(name: &str) -> String {
    let name = name.trim_start_matches('&').trim_start_matches("mut ");
    if let Some(elem) = name.strip_prefix('[').and_then(|n| n.strip_suffix(']')) {
        let is_array = elem.rsplit_once("; ").is_some_and(|(_, n)| n.chars().all(|c| c.is_ascii_digit()));
        if !is_array {
            return format!("alloc::vec::Vec<{}>", normalise(elem));
        }
    }
    match name {
        "str" => "alloc::string::String".to_string(),
        other => other.to_string(),
    }
}

/// The length of `value` once encoded: the bytes a message of it costs.
pub fn encoded_len<T: Serialize + ?Sized>(value: &T) -> u64 {
    postcard::experimental::serialized_size(value).map_or(0, |n| n as u64)
}

/// A byte vector whose encoded message is `bytes` long, so that programs can send messages
/// of a given size. Exact for every size but the one just past each length-prefix boundary
/// (129, 16 386, …), which comes out one byte short; at least 1 byte (an empty vector).
pub fn payload_of_size(bytes: u64) -> Vec<u8> {
    let total = |len: u64| varint_len(len) + len;
    let mut len = bytes.saturating_sub(1);
    while len > 0 && total(len) > bytes {
        len -= 1;
    }
    vec![0u8; len as usize]
}

/// Bytes of postcard's LEB128 length prefix for `n`.
fn varint_len(n: u64) -> u64 {
    let bits = 64 - u64::from(n.leading_zeros());
    bits.div_ceil(7).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_sizes() {
        let p = encode(&vec![1.5f64; 4]).unwrap();
        assert_eq!(p.len(), 1 + 32);
        assert_eq!(decode::<Vec<f64>>(&p).unwrap(), vec![1.5; 4]);
    }

    #[test]
    fn slices_and_arrays_decode_as_vectors() {
        let p = encode::<[i32]>(&[1, 2, 3][..]).unwrap();
        assert_eq!(decode::<Vec<i32>>(&p).unwrap(), vec![1, 2, 3]);
        let p = encode("hi").unwrap();
        assert_eq!(decode::<String>(&p).unwrap(), "hi");
        let p = encode(&[1u32, 2, 3]).unwrap();
        assert!(decode::<Vec<u32>>(&p).is_err(), "arrays encode without a length: not a Vec");
        assert_eq!(decode::<[u32; 3]>(&p).unwrap(), [1, 2, 3]);
    }

    #[test]
    fn wrong_type_names_both() {
        let p = encode(&7i64).unwrap();
        let err = decode::<f64>(&p).unwrap_err();
        assert_eq!((err.sent.as_str(), err.expected.as_str()), ("i64", "f64"));
        let p = encode(&vec![1.5f64]).unwrap();
        let err = decode::<std::collections::BTreeMap<String, f64>>(&p).unwrap_err();
        assert_eq!((err.sent.as_str(), err.expected.as_str()), ("Vec<f64>", "BTreeMap<String, f64>"));
    }

    #[test]
    fn type_names_read_as_written() {
        let cases: &[(&str, &str)] = &[
            ("f64", "f64"),
            ("alloc::vec::Vec<f64>", "Vec<f64>"),
            ("alloc::collections::btree::map::BTreeMap<alloc::string::String, f64>", "BTreeMap<String, f64>"),
            ("core::option::Option<(alloc::string::String, [u8; 4])>", "Option<(String, [u8; 4])>"),
            ("&[my_crate::Point]", "&[Point]"),
            ("&mut dyn core::any::Any", "&mut dyn Any"),
            ("alloc::vec::Vec<alloc::vec::Vec<u64>>", "Vec<Vec<u64>>"),
        ];
        for &(full, short) in cases {
            assert_eq!(written(full), short, "{full}");
        }
        assert_eq!(written(std::any::type_name::<Vec<Option<String>>>()), "Vec<Option<String>>");
        assert_eq!(
            written_pair("a::Point", "b::Point"),
            ("a::Point".to_string(), "b::Point".to_string()),
            "alike when short: in full"
        );
    }

    #[test]
    fn payload_of_size_is_exact() {
        for bytes in [1u64, 2, 8, 127, 128, 130, 16_383, 16_384, 16_385, 16_387, 65_536, 65_537, 1 << 20] {
            assert_eq!(encoded_len(&payload_of_size(bytes)), bytes, "{bytes}");
        }
        assert_eq!(encoded_len(&payload_of_size(129)), 128);
        assert_eq!(encoded_len(&payload_of_size(0)), 1);
    }
}
