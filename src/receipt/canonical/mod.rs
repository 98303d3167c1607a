//! RFC 8785 (JSON Canonicalization Scheme) bytes of a JSON value, and SHA-256 in hex: the one
//! form that is signed, hashed into the chain and written to disk.

use serde::Serialize;
use serde_json::Value as Json;
use sha2::{Digest, Sha256};

use super::error::ReceiptError;

mod typed;

pub(crate) use typed::member_bytes;

/// The RFC 8785 canonical JSON of `value`: object keys sorted by their UTF-16 code units, no
/// whitespace, numbers in their shortest ECMAScript form (`1.0` → `1`, `1e21` → `1e+21`).
/// Integers beyond 2^53 are rounded to the nearest double, as the RFC requires: a receipt
/// that must keep such a number exactly should carry it as a string.
///
/// Written here rather than by a general canonicaliser because every receipt is canonicalised
/// when it is signed and again when it is verified: walking the parsed value directly costs a
/// fraction of serialising it through serde and sorting each object's buffered members. The
/// property tests hold it to `serde_json_canonicalizer`, which still formats the non-integer
/// numbers.
pub fn canonical_json(value: &Json) -> Result<Vec<u8>, ReceiptError> {
    let mut out = Vec::with_capacity(128);
    write_value(value, &mut out)?;
    Ok(out)
}

/// The canonical JSON of an object given as its members, in any order.
pub(crate) fn canonical_members<'v>(
    members: impl IntoIterator<Item = (&'v str, &'v Json)>,
) -> Result<Vec<u8>, ReceiptError> {
    let mut out = Vec::with_capacity(1024);
    write_object(members, &mut out)?;
    Ok(out)
}

/// The same for anything serialisable (structs, typed maps), written straight from it: the
/// bytes `canonical_json` gives for the value `serde_json` would make of it.
pub(crate) fn canonical_bytes<T: Serialize + ?Sized>(
    value: &T,
    what: &str,
) -> Result<Vec<u8>, ReceiptError> {
    typed::to_canonical(value, what).map(|(bytes, _)| bytes)
}

/// Appends the canonical JSON of `value` to `out`.
pub(crate) fn write_value(value: &Json, out: &mut Vec<u8>) -> Result<(), ReceiptError> {
    match value {
        Json::Null => out.extend_from_slice(b"null"),
        Json::Bool(true) => out.extend_from_slice(b"true"),
        Json::Bool(false) => out.extend_from_slice(b"false"),
        Json::Number(number) => write_number(number, out)?,
        Json::String(text) => write_string(text, out),
        Json::Array(items) => {
            out.push(b'[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                write_value(item, out)?;
            }
            out.push(b']');
        }
        Json::Object(members) => write_object(members.iter().map(|(k, v)| (k.as_str(), v)), out)?,
    }
    Ok(())
}

fn write_object<'v>(
    members: impl IntoIterator<Item = (&'v str, &'v Json)>,
    out: &mut Vec<u8>,
) -> Result<(), ReceiptError> {
    let mut members: Vec<(&str, &Json)> = members.into_iter().collect();
    // A map's keys usually come sorted by their UTF-8 bytes, which is also their UTF-16 order
    // unless one holds a character from U+E000 up; the stable sort then only confirms it.
    members.sort_by(|a, b| utf16_order(a.0, b.0));
    out.push(b'{');
    for (index, (key, value)) in members.into_iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        write_string(key, out);
        out.push(b':');
        write_value(value, out)?;
    }
    out.push(b'}');
    Ok(())
}

fn utf16_order(a: &str, b: &str) -> std::cmp::Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

/// RFC 8785 escapes a string as ECMAScript's JSON.stringify does: `"`, `\`, the short forms
/// `\b \t \n \f \r`, other control characters as `\u00xx` (lower-case hex), everything
/// else as itself — which is serde_json's escaping, character for character.
pub(crate) fn write_string(text: &str, out: &mut Vec<u8>) {
    // Writing to a Vec cannot fail, and a `str` always serialises.
    let _ = serde_json::to_writer(&mut *out, text);
}

/// Integers up to 2^53 are written as themselves; any other number (a fraction, a larger
/// integer, an exponent) in ECMAScript's shortest form, by `serde_json_canonicalizer`.
fn write_number(number: &serde_json::Number, out: &mut Vec<u8>) -> Result<(), ReceiptError> {
    if let Some(n) = exact_integer(number) {
        out.extend_from_slice(n.to_string().as_bytes());
    } else {
        let bytes =
            serde_json_canonicalizer::to_vec(number).map_err(|error| ReceiptError::Canonical {
                what: format!("the number {number}"),
                message: error.to_string(),
            })?;
        out.extend_from_slice(&bytes);
    }
    Ok(())
}

/// `number` when it is an integer of at most 2^53 in size, which the canonical form writes as
/// itself.
fn exact_integer(number: &serde_json::Number) -> Option<i128> {
    const EXACT: u64 = 1 << 53;
    match (number.as_u64(), number.as_i64()) {
        (Some(n), _) if n <= EXACT => Some(i128::from(n)),
        (_, Some(n)) if n.unsigned_abs() <= EXACT => Some(i128::from(n)),
        _ => None,
    }
}

/// Whether every number in `value` is written as itself by the canonical form, so that the
/// canonical JSON reads back as `value`.
#[cfg(test)]
pub(crate) fn numbers_canonical(value: &Json) -> bool {
    match value {
        Json::Number(n) => exact_integer(n).is_some(),
        Json::Array(items) => items.iter().all(numbers_canonical),
        Json::Object(members) => members.values().all(numbers_canonical),
        Json::Null | Json::Bool(_) | Json::String(_) => true,
    }
}

/// The canonical JSON of an object from its members' own canonical JSON. RFC 8785 writes an
/// object as `{"key":value,...}` with the keys sorted by their UTF-16 code units and each value
/// in its canonical form, so this gives the same bytes as `canonical_bytes` of the whole object
/// without canonicalising the values again (signing needs each member's bytes anyway).
pub(crate) fn canonical_object(members: &[(&str, &[u8])]) -> Result<Vec<u8>, ReceiptError> {
    let mut sorted: Vec<&(&str, &[u8])> = members.iter().collect();
    sorted.sort_by(|a, b| utf16_order(a.0, b.0));
    let mut out = Vec::with_capacity(
        2 + members
            .iter()
            .map(|(k, v)| k.len() + v.len() + 4)
            .sum::<usize>(),
    );
    out.push(b'{');
    for (index, (key, value)) in sorted.into_iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        write_string(key, &mut out);
        out.push(b':');
        out.extend_from_slice(value);
    }
    out.push(b'}');
    Ok(out)
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn canon(text: &str) -> String {
        let value: Json = serde_json::from_str(text).unwrap();
        String::from_utf8(canonical_json(&value).unwrap()).unwrap()
    }

    #[test]
    fn keys_are_sorted_and_whitespace_dropped() {
        assert_eq!(
            canon(r#"{ "b": 1, "a": [ true, null ] }"#),
            r#"{"a":[true,null],"b":1}"#
        );
    }

    #[test]
    fn numbers_take_their_shortest_form() {
        assert_eq!(
            canon("[1.0, -0.0, 1e21, 1e-7, 0.1, 100]"),
            "[1,0,1e+21,1e-7,0.1,100]"
        );
    }

    #[test]
    fn an_object_assembled_from_canonical_members_is_the_canonical_object() {
        let whole = json!({
            "z": {"b": [1.0, "x\u{1}\n"], "a": null},
            "é": "accent sorts after ASCII",
            "\u{1F600}": "astral: UTF-16 order puts it before U+FFFD",
            "\u{FFFD}": 2,
            "a\"quote": 1e21,
            "A": true,
        });
        let Json::Object(fields) = &whole else {
            unreachable!()
        };
        let bytes: Vec<(&str, Vec<u8>)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), canonical_json(v).unwrap()))
            .collect();
        let members: Vec<(&str, &[u8])> = bytes.iter().map(|(k, v)| (*k, v.as_slice())).collect();
        assert_eq!(
            String::from_utf8(canonical_object(&members).unwrap()).unwrap(),
            String::from_utf8(canonical_json(&whole).unwrap()).unwrap()
        );
    }

    /// Any JSON value: the strings draw on control characters, quotes, backslashes, accents,
    /// characters from U+E000 up and astral ones (whose UTF-16 order differs from their UTF-8
    /// order); the numbers on small and huge integers, negative ones and fractions.
    fn any_json() -> impl proptest::strategy::Strategy<Value = Json> {
        use proptest::prelude::*;
        let text = || {
            proptest::string::string_regex(
                "[a-zA-Z0-9 \\x00-\\x1f\"\\\\/é\u{7f}\u{2028}\u{e000}\u{fffd}\u{1f600}]{0,8}",
            )
            .unwrap()
        };
        let number = prop_oneof![
            any::<i64>().prop_map(Json::from),
            any::<u64>().prop_map(Json::from),
            (-1_000_000i64..1_000_000).prop_map(Json::from),
            any::<f64>()
                .prop_filter("finite", |x| x.is_finite())
                .prop_map(Json::from),
            (-1000i32..1000, -30i32..30)
                .prop_map(|(m, e)| Json::from(f64::from(m) * 10f64.powi(e))),
        ];
        let leaf = prop_oneof![
            Just(Json::Null),
            any::<bool>().prop_map(Json::Bool),
            number,
            text().prop_map(Json::String),
        ];
        leaf.prop_recursive(4, 48, 6, move |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Json::Array),
                proptest::collection::btree_map(text(), inner, 0..6)
                    .prop_map(|m| Json::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config { cases: 512, ..Default::default() })]
        #[test]
        fn the_writer_agrees_with_a_general_canonicaliser(value in any_json()) {
            let general = serde_json_canonicalizer::to_vec(&value).unwrap();
            proptest::prop_assert_eq!(
                String::from_utf8(canonical_json(&value).unwrap()).unwrap(),
                String::from_utf8(general).unwrap()
            );
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config { cases: 512, ..Default::default() })]
        /// Writing a value straight from serde gives the bytes of writing it as a JSON value,
        /// and knows as well whether its numbers read back as themselves.
        #[test]
        fn the_typed_writer_agrees_with_the_value_writer(value in any_json()) {
            let (bytes, exact) = typed::to_canonical(&value, "test").unwrap();
            proptest::prop_assert_eq!(
                String::from_utf8(bytes).unwrap(),
                String::from_utf8(canonical_json(&value).unwrap()).unwrap()
            );
            proptest::prop_assert_eq!(exact, numbers_canonical(&value));
        }
    }

    /// Every shape serde gives a Rust type (options, unit, newtype, tuple and struct variants,
    /// typed maps, floats, characters, bytes) is written as serde_json would hold it.
    #[test]
    fn typed_values_are_written_as_their_json_value() {
        use std::collections::{BTreeMap, HashMap};

        #[derive(Serialize)]
        enum Shape {
            Unit,
            Newtype(u8),
            Tuple(i32, String),
            Struct { z: bool, a: Option<f64> },
        }
        #[derive(Serialize)]
        struct Whole {
            zeta: Vec<Shape>,
            alpha: Option<String>,
            missing: Option<u32>,
            #[serde(skip_serializing_if = "Option::is_none")]
            skipped: Option<u32>,
            map: HashMap<String, (char, f32)>,
            sorted: BTreeMap<String, i64>,
            bytes: serde_bytes_like::Bytes,
            big: u64,
            ratio: f64,
            whole: f64,
            unit: (),
            nan: f64,
        }
        mod serde_bytes_like {
            pub struct Bytes(pub Vec<u8>);
            impl serde::Serialize for Bytes {
                fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                    s.serialize_bytes(&self.0)
                }
            }
        }
        let whole = Whole {
            zeta: vec![
                Shape::Unit,
                Shape::Newtype(7),
                Shape::Tuple(-3, "t\u{1}".into()),
                Shape::Struct {
                    z: true,
                    a: Some(0.5),
                },
            ],
            alpha: Some("\u{e000} after \u{1F600}".into()),
            missing: None,
            skipped: None,
            map: [
                ("\u{1F600}".to_string(), ('x', 1.5)),
                ("\u{FFFD}".to_string(), ('"', 2.0)),
            ]
            .into_iter()
            .collect(),
            sorted: [
                ("b".to_string(), -1),
                ("a".to_string(), 9_007_199_254_740_993),
            ]
            .into_iter()
            .collect(),
            bytes: serde_bytes_like::Bytes(vec![0, 255]),
            big: u64::MAX,
            ratio: 0.1,
            whole: 1.0,
            unit: (),
            nan: f64::NAN,
        };
        let (bytes, exact) = typed::to_canonical(&whole, "test").unwrap();
        let value = serde_json::to_value(&whole).unwrap();
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            String::from_utf8(canonical_json(&value).unwrap()).unwrap()
        );
        assert!(!exact);
        let (bytes, exact) = typed::to_canonical(&json!({"n": [1, -2, {"m": 3}]}), "t").unwrap();
        assert_eq!(bytes, br#"{"n":[1,-2,{"m":3}]}"#);
        assert!(exact);
    }

    /// The members of an object, each canonical, in the order they come; a value that is not
    /// an object has none.
    #[test]
    fn member_bytes_are_each_members_canonical_json() {
        let value = json!({"b": {"y": 1, "x": [2.5]}, "a": "\u{1}"});
        let (members, exact) = member_bytes(&value, "test").unwrap();
        let expected: Vec<(String, Vec<u8>)> = value
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), canonical_json(v).unwrap()))
            .collect();
        assert_eq!(members, expected);
        assert!(!exact);
        assert!(member_bytes(&json!([1, 2]), "test").is_err());
        assert!(member_bytes(&json!("text"), "test").is_err());
    }

    #[test]
    fn sha256_of_empty_input_is_the_known_digest() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            sha256_hex(&canonical_json(&json!({})).unwrap()),
            sha256_hex(b"{}")
        );
    }
}
