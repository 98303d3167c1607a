//! RFC 8785 (JSON Canonicalization Scheme) bytes of a JSON value, and SHA-256 in hex: the one
//! form that is signed, hashed into the chain and written to disk.

use serde::Serialize;
use serde_json::Value as Json;
use sha2::{Digest, Sha256};

use super::error::ReceiptError;

/// The RFC 8785 canonical JSON of `value`: object keys sorted by their UTF-16 code units, no
/// whitespace, numbers in their shortest ECMAScript form (`1.0` → `1`, `1e21` → `1e+21`).
/// Integers beyond 2^53 are rounded to the nearest double, as the RFC requires: a receipt
/// that must keep such a number exactly should carry it as a string.
pub fn canonical_json(value: &Json) -> Result<Vec<u8>, ReceiptError> {
    canonical_bytes(value, "a JSON value")
}

/// The same for anything serialisable (borrowed maps, structs), so callers need not clone a
/// large payload into a `Json` first.
pub(crate) fn canonical_bytes<T: Serialize>(
    value: &T,
    what: &str,
) -> Result<Vec<u8>, ReceiptError> {
    serde_json_canonicalizer::to_vec(value).map_err(|error| ReceiptError::Canonical {
        what: what.to_string(),
        message: error.to_string(),
    })
}

/// The canonical JSON of an object from its members' own canonical JSON. RFC 8785 writes an
/// object as `{"key":value,...}` with the keys sorted by their UTF-16 code units and each value
/// in its canonical form, so this gives the same bytes as `canonical_bytes` of the whole object
/// without canonicalising the values again (signing needs each member's bytes anyway).
pub(crate) fn canonical_object(members: &[(&str, &[u8])]) -> Result<Vec<u8>, ReceiptError> {
    let mut sorted: Vec<&(&str, &[u8])> = members.iter().collect();
    sorted.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
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
        out.extend(canonical_bytes(key, "a member name")?);
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
