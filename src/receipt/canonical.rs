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
