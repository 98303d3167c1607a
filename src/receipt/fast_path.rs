//! Verifying a receipt file without building a JSON tree: the store writes each receipt as
//! the RFC 8785 canonical JSON of the signed receipt (plus a newline), so the signed bytes are
//! the file with the top-level `,"signature":"…"` member cut out. Checking the HMAC over those
//! bytes in place, hashing them for the chain, and reading the three chain fields next to the
//! signature is what makes verifying 100,000 receipts fast. Anything unexpected returns `None`
//! and the caller takes the slow path (parse, canonicalise, diagnose), so this can only be
//! faster, never more lenient.
//!
//! Why a tampered file cannot pass: a matching HMAC proves the bytes left after the cut are
//! bytes Enact signed — the canonical JSON of a receipt without its signature. The cut is
//! accepted only when everything after it is scalar members and the closing brace, so it sat
//! in the top-level object (a cut inside the payload would leave that object's closing brace
//! and later members behind it). So the file is exactly a signed receipt plus its signature
//! member. The members just before the signature are then, in canonical key order,
//! `prev_sha256`, `run_id` and `sequence`; they are read backwards, and since `,"` never occurs
//! inside a canonical string, each boundary found is a real member boundary.

use sha2::{Digest, Sha256};

use super::signing::Signer;

/// The chain fields of a receipt file whose signature verified.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct FastLink<'a> {
    pub run_id: &'a str,
    pub sequence: u64,
    pub prev_sha256: &'a str,
    pub chain_sha256: String,
}

const SIGNATURE_KEY: &[u8] = b",\"signature\":\"";

/// Verifies a canonical receipt file; `None` means "not shown valid this way".
pub(crate) fn fast_check<'a>(bytes: &'a [u8], signer: &Signer) -> Option<FastLink<'a>> {
    let body = strip_newline(bytes);
    let at = rfind(body, SIGNATURE_KEY)?;
    let (head, rest) = body.split_at(at);
    let rest = rest.get(SIGNATURE_KEY.len()..)?;
    let (signature, rest) = split_hex(rest, 64)?;
    let tail = rest.strip_prefix(b"\"")?;
    if !only_scalar_members(tail) || !signer.mac_matches(b"", &[head, tail], signature) {
        return None;
    }
    let (before, digits) = split_suffix_digits(head)?;
    let sequence = std::str::from_utf8(digits).ok()?.parse().ok()?;
    let before = before.strip_suffix(b",\"sequence\":")?;
    let (before, run_id) = split_quoted_suffix(before, 36)?;
    let before = before.strip_suffix(b",\"run_id\":")?;
    let (before, prev_sha256) = split_quoted_suffix(before, 64)?;
    before.strip_suffix(b",\"prev_sha256\":")?;
    Some(FastLink {
        run_id,
        sequence,
        prev_sha256,
        chain_sha256: chain_hash(head, tail),
    })
}

/// The bytes before and after the last `,"signature":"<signature>"` of a file, unverified
/// (used to rebuild the index, which has no secret).
pub(crate) fn split_at_signature<'a>(
    bytes: &'a [u8],
    signature: &str,
) -> Option<(&'a [u8], &'a [u8])> {
    let body = strip_newline(bytes);
    let at = rfind(body, SIGNATURE_KEY)?;
    let (head, rest) = body.split_at(at);
    let rest = rest
        .get(SIGNATURE_KEY.len()..)?
        .strip_prefix(signature.as_bytes())?;
    Some((head, rest.strip_prefix(b"\"")?))
}

/// SHA-256 hex of `head` followed by `tail`.
pub(crate) fn chain_hash(head: &[u8], tail: &[u8]) -> String {
    let mut hash = Sha256::new();
    hash.update(head);
    hash.update(tail);
    hex::encode(hash.finalize())
}

fn strip_newline(bytes: &[u8]) -> &[u8] {
    bytes.strip_suffix(b"\n").unwrap_or(bytes)
}

/// The start of the last occurrence of `needle` in `haystack`.
fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::rfind(haystack, needle)
}

/// `len` lowercase hex digits at the start of `bytes`, as text, and the rest.
fn split_hex(bytes: &[u8], len: usize) -> Option<(&str, &[u8])> {
    let hex = bytes.get(..len)?;
    if !all_hex(hex, false) {
        return None;
    }
    Some((std::str::from_utf8(hex).ok()?, bytes.get(len..)?))
}

/// Whether every byte is a lowercase hex digit, or with `dash` also `-`. Checked without a
/// branch per byte: the digits of a hash are random, and a branch on each one's class is
/// mispredicted often enough to cost several times the check itself over 100,000 receipts.
fn all_hex(bytes: &[u8], dash: bool) -> bool {
    bytes.iter().fold(true, |all, &b| {
        let digit = b.wrapping_sub(b'0') < 10;
        let letter = b.wrapping_sub(b'a') < 6;
        all & (digit | letter | (dash & (b == b'-')))
    })
}

/// `bytes` without its trailing ASCII digits, and those digits (at least one).
fn split_suffix_digits(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let start = bytes.iter().rposition(|b| !b.is_ascii_digit())? + 1;
    (start < bytes.len()).then(|| bytes.split_at(start))
}

/// `bytes` ending in `"<len characters of [0-9a-f-]>"`: the part before, and the characters.
fn split_quoted_suffix(bytes: &[u8], len: usize) -> Option<(&[u8], &str)> {
    let body = bytes.strip_suffix(b"\"")?;
    let start = body.len().checked_sub(len)?;
    let (before, text) = body.split_at(start);
    let before = before.strip_suffix(b"\"")?;
    if !all_hex(text, true) {
        return None;
    }
    Some((before, std::str::from_utf8(text).ok()?))
}

/// Whether `bytes` is `(,"key":scalar)*}` to its very end: members whose values are strings,
/// numbers, `true`, `false` or `null`, then the object's closing brace.
fn only_scalar_members(mut bytes: &[u8]) -> bool {
    loop {
        if bytes == b"}" {
            return true;
        }
        let Some(rest) = bytes.strip_prefix(b",") else {
            return false;
        };
        let Some(rest) = skip_string(rest).and_then(|rest| rest.strip_prefix(b":")) else {
            return false;
        };
        let Some(rest) = skip_scalar(rest) else {
            return false;
        };
        bytes = rest;
    }
}

/// After a JSON string at the start of `bytes`.
fn skip_string(bytes: &[u8]) -> Option<&[u8]> {
    let mut rest = bytes.strip_prefix(b"\"")?.iter().enumerate();
    while let Some((index, &byte)) = rest.next() {
        match byte {
            b'\\' => {
                rest.next()?;
            }
            b'"' => return bytes.get(index + 2..),
            _ => {}
        }
    }
    None
}

/// After a scalar JSON value (string, number, true, false, null) at the start of `bytes`.
fn skip_scalar(bytes: &[u8]) -> Option<&[u8]> {
    match bytes.first()? {
        b'"' => skip_string(bytes),
        b't' => bytes.strip_prefix(b"true"),
        b'f' => bytes.strip_prefix(b"false"),
        b'n' => bytes.strip_prefix(b"null"),
        _ => {
            let len = bytes.iter().position(|b| {
                !(b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'))
            })?;
            (len > 0).then(|| bytes.get(len..)).flatten()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::receipt::test_support::{receipt, signer};
    use crate::receipt::verify::check_bytes;
    use serde_json::json;

    /// The branch-free check classifies every byte as the plain one does.
    #[test]
    fn all_hex_is_lowercase_hex_and_dash_when_asked() {
        for byte in 0..=u8::MAX {
            let hex = byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte);
            assert_eq!(all_hex(&[b'0', byte, b'f'], false), hex, "{byte}");
            assert_eq!(all_hex(&[byte], true), hex || byte == b'-', "{byte}");
        }
        assert!(all_hex(b"", false));
        assert!(!all_hex(b"0123456789abcdeF", false));
    }

    fn sealed(payload: serde_json::Value) -> (crate::receipt::Receipt, Vec<u8>, String) {
        let mut receipt = receipt(payload);
        let sealed = signer().sign(&mut receipt).unwrap();
        (receipt, sealed.document, sealed.chain_sha256)
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// Any one byte changed, dropped or inserted anywhere in a signed file, and the fast
        /// path no longer accepts it — unless the edit appended the one trailing newline files
        /// on disk end in, which the fast path accepts by design.
        #[test]
        fn no_edit_of_the_content_is_accepted(
            at in 0usize..4096,
            byte in proptest::prelude::any::<u8>(),
            kind in 0u8..3,
            text in "[ -~]{0,40}",
        ) {
            let (_, original, _) = sealed(json!({"note": text, "n": 1.5}));
            let at = at % (original.len() + 1);
            let mut edited = original.clone();
            match kind {
                0 if at < edited.len() => {
                    if let Some(b) = edited.get_mut(at) {
                        *b = byte;
                    }
                }
                1 if at < edited.len() => {
                    edited.remove(at);
                }
                _ => edited.insert(at, byte),
            }
            if edited != original && fast_check(&edited, &signer()).is_some() {
                proptest::prop_assert!(
                    edited.strip_suffix(b"\n") == Some(&original[..]),
                    "accepted an edited file"
                );
            }
        }
    }

    #[test]
    fn reads_the_chain_fields_of_a_canonical_file() {
        let (receipt, mut bytes, chain) = sealed(json!({"signature": "nested is fine"}));
        bytes.push(b'\n');
        let link = fast_check(&bytes, &signer()).unwrap();
        assert_eq!(link.run_id, receipt.run_id);
        assert_eq!(link.sequence, 1);
        assert_eq!(link.prev_sha256, "0".repeat(64));
        assert_eq!(link.chain_sha256, chain);
    }

    #[test]
    fn anything_else_is_left_to_the_slow_path() {
        let (_, bytes, _) = sealed(json!({}));
        let text = String::from_utf8(bytes.clone()).unwrap();
        let pretty = serde_json::to_vec_pretty(
            &serde_json::from_slice::<serde_json::Value>(&bytes).unwrap(),
        )
        .unwrap();
        assert!(fast_check(&pretty, &signer()).is_none());
        let edited = text.replace("\"unit\"", "\"tinu\"");
        assert!(fast_check(edited.as_bytes(), &signer()).is_none());
        let other = crate::receipt::Signer::new(
            &crate::receipt::Secret::from_bytes(vec![1u8; 32], false).unwrap(),
        );
        assert!(fast_check(&bytes, &other).is_none());
        assert!(fast_check(b"", &signer()).is_none());
        assert!(fast_check(b",\"signature\":\"", &signer()).is_none());
    }

    #[test]
    fn a_signature_moved_into_the_payload_is_not_accepted() {
        // A payload that mimics the members around the top-level signature, so that a
        // signature member moved inside it would sit between look-alike neighbours.
        let (receipt, bytes, _) = sealed(json!({
            "a": 1,
            "prev_sha256": "0".repeat(64),
            "run_id": "67e55044-10b1-426f-9247-bb680e5fe0c8",
            "sequence": 9,
            "started_at": "x",
        }));
        let text = String::from_utf8(bytes).unwrap();
        let member = format!(",\"signature\":\"{}\"", receipt.signature);
        let without = text.replacen(&member, "", 1);
        let moved = without.replacen("\"sequence\":9", &format!("\"sequence\":9{member}"), 1);
        assert_ne!(moved, text);
        assert!(fast_check(moved.as_bytes(), &signer()).is_none());
        assert!(check_bytes("moved", moved.as_bytes(), &signer()).is_err());
    }

    #[test]
    fn scalar_members_are_recognised() {
        assert!(only_scalar_members(b"}"));
        assert!(only_scalar_members(
            br#","a":"x\"}","b":-1.5e+3,"c":true,"d":null}"#
        ));
        assert!(!only_scalar_members(br#","a":{}}"#));
        assert!(!only_scalar_members(br#","a":[1]}"#));
        assert!(!only_scalar_members(br#","a":1}}"#));
        assert!(!only_scalar_members(br#","a":1},"b":2}"#));
        assert!(!only_scalar_members(br#","a":"unterminated}"#));
        assert!(!only_scalar_members(b""));
    }
}
