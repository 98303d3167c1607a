//! The signing secret and the HMAC-SHA256 signer. One canonicalisation of a receipt without its
//! `signature` serves three purposes: the HMAC over it is the signature, its SHA-256 is the
//! chain hash the next receipt records in `prev_sha256`, and per-field digests taken at the
//! same time let a verifier name the field that changed.

use std::collections::BTreeMap;
use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Map, Value as Json};
use sha2::{Digest, Sha256};

use super::canonical::{
    canonical_bytes, canonical_json, canonical_members, canonical_object, member_bytes, sha256_hex,
};
use super::error::{ReceiptError, SecretError};
use super::model::Receipt;

/// The shortest secret Enact accepts without `--allow-insecure-secret`.
pub const MIN_SECRET_BYTES: usize = 32;

/// The field a receipt's signature lives in; everything else is signed.
pub const SIGNATURE_FIELD: &str = "signature";
/// The field holding the per-field digests (itself signed, not digested).
pub const DIGESTS_FIELD: &str = "field_sha256";

type HmacSha256 = Hmac<Sha256>;

const DIGESTS_CONTEXT: &[u8] = b"enact field digests v1\n";

/// The key receipts are signed with. Its bytes never appear in a message or in `Debug`.
#[derive(Clone)]
pub struct Secret {
    bytes: Vec<u8>,
    insecure: bool,
}

impl Secret {
    /// Reads the secret from environment variable `var_name` (its raw bytes, not trimmed).
    /// Missing or shorter than 32 bytes is refused unless `allow_insecure`, in which case a
    /// missing variable means an empty key and [`Secret::is_insecure`] is true.
    pub fn from_env(var_name: &str, allow_insecure: bool) -> Result<Secret, SecretError> {
        Secret::from_var(var_name, std::env::var_os(var_name), allow_insecure)
    }

    /// [`Secret::from_env`] given the variable's value (tests cannot set variables: that is
    /// `unsafe` in edition 2024 and the crate forbids it).
    fn from_var(
        var_name: &str,
        value: Option<std::ffi::OsString>,
        allow_insecure: bool,
    ) -> Result<Secret, SecretError> {
        let bytes = match value {
            Some(value) => value.into_encoded_bytes(),
            None if allow_insecure => Vec::new(),
            None => {
                return Err(SecretError::Missing {
                    var: var_name.to_string(),
                });
            }
        };
        if bytes.len() < MIN_SECRET_BYTES && !allow_insecure {
            return Err(SecretError::TooShort {
                var: var_name.to_string(),
                len: bytes.len(),
            });
        }
        Ok(Secret::new_checked(bytes))
    }

    /// A secret from bytes, with the same 32-byte rule as [`Secret::from_env`].
    pub fn from_bytes(
        bytes: impl Into<Vec<u8>>,
        allow_insecure: bool,
    ) -> Result<Secret, SecretError> {
        let bytes = bytes.into();
        if bytes.len() < MIN_SECRET_BYTES && !allow_insecure {
            return Err(SecretError::TooShortBytes { len: bytes.len() });
        }
        Ok(Secret::new_checked(bytes))
    }

    fn new_checked(bytes: Vec<u8>) -> Secret {
        let insecure = bytes.len() < MIN_SECRET_BYTES;
        Secret { bytes, insecure }
    }

    /// True when the secret is shorter than 32 bytes (only possible with `allow_insecure`):
    /// the engine records `insecure_secret: true` in every receipt it signs with it.
    pub fn is_insecure(&self) -> bool {
        self.insecure
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secret")
            .field(
                "bytes",
                &format_args!("[REDACTED; {} bytes]", self.bytes.len()),
            )
            .field("insecure", &self.insecure)
            .finish()
    }
}

/// Why a document's signature did not verify. [`super::verify`] turns these into problems
/// that name the changed field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureError {
    NotAnObject,
    MissingSignature,
    /// The HMAC over the canonical content differs from the recorded signature.
    Mismatch,
    /// The content could not be canonicalised (cannot happen for parsed JSON; kept closed).
    Canonical(String),
}

/// What signing produced besides the fields it filled in.
#[derive(Debug, Clone)]
pub struct Sealed {
    /// RFC 8785 canonical JSON of the whole signed receipt: what the directory store writes.
    pub document: Vec<u8>,
    /// SHA-256 of the signed content (the receipt without `signature`): the chain hash.
    pub chain_sha256: String,
    /// Whether every number was already in its canonical form, so that the document reads
    /// back as the receipt that was signed.
    numbers_canonical: bool,
}

impl Sealed {
    /// The signed receipt as a reader of `document` will see it: numbers in their canonical
    /// form (`1.0` reads back as `1`). Parsed again only when some number changes, which
    /// spares every hook call a parse of its own receipt.
    pub fn read_back(&self, signed: Receipt) -> Result<Receipt, serde_json::Error> {
        if self.numbers_canonical {
            Ok(signed)
        } else {
            serde_json::from_slice(&self.document)
        }
    }
}

/// Signs and verifies with HMAC-SHA256. Receipts are MACed over their canonical bytes as the
/// SPEC says; the store's own records (head, journal lines) are MACed under a context label so
/// that no MAC of one kind can ever be passed off as another.
#[derive(Clone)]
pub struct Signer {
    // Keyed once: cloning the keyed state is cheaper than re-deriving the pads per message.
    keyed: HmacSha256,
    insecure: bool,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("algorithm", &"HMAC-SHA256")
            .field("insecure", &self.insecure)
            .finish()
    }
}

impl Signer {
    pub fn new(secret: &Secret) -> Signer {
        // RFC 2104: a key longer than the hash's block is hashed first, a shorter one is
        // zero-padded to the block. Doing that here gives the infallible fixed-size
        // constructor, so no error path exists for a key length that cannot fail.
        let mut block = [0u8; 64];
        let hashed;
        let key: &[u8] = if secret.bytes.len() > block.len() {
            hashed = Sha256::digest(&secret.bytes);
            hashed.as_slice()
        } else {
            &secret.bytes
        };
        for (slot, byte) in block.iter_mut().zip(key) {
            *slot = *byte;
        }
        let keyed = <HmacSha256 as KeyInit>::new(&block.into());
        Signer {
            keyed,
            insecure: secret.insecure,
        }
    }

    pub fn is_insecure(&self) -> bool {
        self.insecure
    }

    /// Fills in `field_sha256` and `signature` from every other field (the chain fields
    /// `sequence` and `prev_sha256` must already be set: they are signed too). A receipt
    /// signed with an insecure secret always says so: `insecure_secret` is set here too.
    pub fn sign(&self, receipt: &mut Receipt) -> Result<Sealed, ReceiptError> {
        receipt.field_sha256.clear();
        receipt.signature.clear();
        receipt.insecure_secret |= self.insecure;
        // Each member is canonicalised once, straight from the receipt: its bytes give its
        // digest, and the signed bytes and the document are assembled from them.
        let (mut members, numbers_canonical) =
            member_bytes(&*receipt, &format!("receipt {}", receipt.run_id))?;
        members.retain(|(key, _)| key != SIGNATURE_FIELD && key != DIGESTS_FIELD);
        let mut digests: BTreeMap<String, String> = members
            .iter()
            .map(|(key, bytes)| (key.clone(), field_digest(bytes)))
            .collect();
        let digests_mac = self.digests_mac(&digests)?;
        digests.insert(DIGESTS_FIELD.to_string(), digests_mac);
        let digests_bytes = canonical_bytes(&digests, "the field digests")?;
        let mut parts: Vec<(&str, &[u8])> = members
            .iter()
            .map(|(key, bytes)| (key.as_str(), bytes.as_slice()))
            .collect();
        parts.push((DIGESTS_FIELD, &digests_bytes));
        let signed = canonical_object(&parts)?;
        let signature = self.mac_hex(b"", &[&signed]);
        let signature_bytes = canonical_bytes(&signature, "the signature")?;
        parts.push((SIGNATURE_FIELD, &signature_bytes));
        let document = canonical_object(&parts)?;
        receipt.field_sha256 = digests;
        receipt.signature = signature;
        Ok(Sealed {
            document,
            chain_sha256: sha256_hex(&signed),
            numbers_canonical,
        })
    }

    /// Checks the signature of a raw parsed receipt: every member but `signature` is signed,
    /// so an added unknown member breaks it as surely as a changed one. Returns the chain hash.
    pub fn verify(&self, doc: &Json) -> Result<String, SignatureError> {
        let Json::Object(fields) = doc else {
            return Err(SignatureError::NotAnObject);
        };
        let Some(Json::String(signature)) = fields.get(SIGNATURE_FIELD) else {
            return Err(SignatureError::MissingSignature);
        };
        let signed =
            signed_bytes(fields).map_err(|error| SignatureError::Canonical(error.to_string()))?;
        if self.mac_matches(b"", &[&signed], signature) {
            Ok(sha256_hex(&signed))
        } else {
            Err(SignatureError::Mismatch)
        }
    }

    /// The keyed entry `field_sha256.field_sha256`: an HMAC over the other digests, so that a
    /// verifier can tell altered digests from an altered field and name the right one.
    fn digests_mac(&self, digests: &BTreeMap<String, String>) -> Result<String, ReceiptError> {
        let bytes = canonical_bytes(digests, "the field digests")?;
        Ok(self.mac_hex(DIGESTS_CONTEXT, &[&bytes]))
    }

    /// Whether `recorded` (the `field_sha256` map of a receipt) carries the keyed entry this
    /// secret gives its other entries.
    pub(crate) fn digests_verify(&self, recorded: &BTreeMap<String, String>) -> bool {
        let Some(mac) = recorded.get(DIGESTS_FIELD) else {
            return false;
        };
        let others: BTreeMap<&String, &String> = recorded
            .iter()
            .filter(|(key, _)| key.as_str() != DIGESTS_FIELD)
            .collect();
        canonical_bytes(&others, "the field digests")
            .is_ok_and(|bytes| self.mac_matches(DIGESTS_CONTEXT, &[&bytes], mac))
    }

    /// Hex HMAC of `context` followed by `parts`. Receipts use an empty context so that the
    /// signature is exactly the HMAC of the canonical JSON, as SPEC §7 promises third parties.
    pub(crate) fn mac_hex(&self, context: &[u8], parts: &[&[u8]]) -> String {
        hex::encode(self.mac_of(context, parts).finalize().into_bytes())
    }

    /// Constant-time comparison of the HMAC of `context` + `parts` with `expected_hex`.
    pub(crate) fn mac_matches(&self, context: &[u8], parts: &[&[u8]], expected_hex: &str) -> bool {
        let mut tag = [0u8; 32];
        if !decode_hex(expected_hex.as_bytes(), &mut tag) {
            return false;
        }
        self.mac_of(context, parts).verify_slice(&tag).is_ok()
    }

    fn mac_of(&self, context: &[u8], parts: &[&[u8]]) -> HmacSha256 {
        let mut mac = self.keyed.clone();
        mac.update(context);
        for part in parts {
            mac.update(part);
        }
        mac
    }
}

/// Fills `out` from twice as many hex digits (either case), as `hex::decode_to_slice` does;
/// false for anything else. Without a branch per digit: the digits of a MAC are random, and
/// branching on each one's class is mispredicted often enough to show over 100,000 receipts.
fn decode_hex(hex: &[u8], out: &mut [u8]) -> bool {
    if hex.len() != out.len() * 2 {
        return false;
    }
    let mut valid = true;
    for (byte, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        let mut nibbles = [0u8; 2];
        for (nibble, &digit) in nibbles.iter_mut().zip(pair) {
            let lower = digit | 0x20;
            valid &= (digit.wrapping_sub(b'0') < 10) | (lower.wrapping_sub(b'a') < 6);
            // '0'..'9' are 0x30..0x39, 'a'..'f' 0x61..0x66 and 'A'..'F' 0x41..0x46.
            *nibble = (digit & 0x0f) + 9 * (digit >> 6);
        }
        let [high, low] = nibbles;
        *byte = high << 4 | low;
    }
    valid
}

/// The canonical bytes a receipt's signature covers: all members but `signature`.
pub(crate) fn signed_bytes(fields: &Map<String, Json>) -> Result<Vec<u8>, ReceiptError> {
    canonical_members(
        fields
            .iter()
            .filter(|(key, _)| key.as_str() != SIGNATURE_FIELD)
            .map(|(key, value)| (key.as_str(), value)),
    )
}

/// SHA-256 of the canonical JSON of each member except `signature` and `field_sha256`.
/// Hex characters kept of each field's SHA-256 in `field_sha256`.
const FIELD_DIGEST_HEX: usize = 16;

pub(crate) fn field_digests(
    fields: &Map<String, Json>,
) -> Result<BTreeMap<String, String>, ReceiptError> {
    Ok(parsed_member_bytes(fields)?
        .into_iter()
        .map(|(key, bytes)| (key.to_string(), field_digest(&bytes)))
        .collect())
}

/// The canonical JSON of each member of a parsed receipt except `signature` and
/// `field_sha256`.
fn parsed_member_bytes(fields: &Map<String, Json>) -> Result<Vec<(&str, Vec<u8>)>, ReceiptError> {
    fields
        .iter()
        .filter(|(key, _)| key.as_str() != SIGNATURE_FIELD && key.as_str() != DIGESTS_FIELD)
        .map(|(key, value)| Ok((key.as_str(), canonical_json(value)?)))
        .collect()
}

/// A member's digest in `field_sha256`: 64 bits name the changed field well enough; the
/// signature, not these, is the proof, and shorter digests keep receipts small and verification
/// fast.
fn field_digest(bytes: &[u8]) -> String {
    let mut digest = sha256_hex(bytes);
    digest.truncate(FIELD_DIGEST_HEX);
    digest
}

#[cfg(test)]
mod tests {
    /// The branch-free decoder agrees with the `hex` crate on every pair of bytes, and on
    /// lengths that are not twice the output's.
    #[test]
    fn decode_hex_agrees_with_the_hex_crate() {
        for first in 0..=u8::MAX {
            for second in 0..=u8::MAX {
                let digits = [first, second];
                let (mut ours, mut theirs) = ([0u8; 1], [0u8; 1]);
                let valid = super::decode_hex(&digits, &mut ours);
                let expected = std::str::from_utf8(&digits)
                    .is_ok_and(|text| hex::decode_to_slice(text, &mut theirs).is_ok());
                assert_eq!(valid, expected, "{digits:?}");
                if valid {
                    assert_eq!(ours, theirs, "{digits:?}");
                }
            }
        }
        let mut out = [0u8; 2];
        assert!(super::decode_hex(b"0aFf", &mut out));
        assert_eq!(out, [0x0a, 0xff]);
        assert!(!super::decode_hex(b"0aF", &mut out));
        assert!(!super::decode_hex(b"0aFf00", &mut out));
    }

    use super::*;
    use crate::receipt::test_support::{receipt, signer};
    use serde_json::json;

    #[test]
    fn a_sealed_receipt_reads_back_as_its_document_does() {
        let payloads = [
            json!({"path": "notes/today.md", "count": 3, "negative": -7, "nested": [{"n": 9007199254740992_u64}]}),
            json!({"ratio": 1.5}),
            json!({"whole": 1.0}),
            json!({"big": 9007199254740993_u64}),
            json!({"deep": [{"list": [-9007199254740993_i64]}]}),
        ];
        for payload in payloads {
            let mut signed = receipt(payload.clone());
            let sealed = signer().sign(&mut signed).unwrap();
            let parsed: Receipt = serde_json::from_slice(&sealed.document).unwrap();
            let read = sealed.read_back(signed).unwrap();
            assert_eq!(read, parsed, "{payload}");
        }
        // `1.0` is written `1`, and reads back as the integer.
        let mut signed = receipt(json!({"whole": 1.0}));
        let sealed = signer().sign(&mut signed).unwrap();
        assert!(sealed.read_back(signed).unwrap().payload["whole"].is_u64());
    }

    fn hmac_hex(key: &[u8], message: &[u8]) -> String {
        let signer = Signer::new(&Secret::from_bytes(key.to_vec(), true).unwrap());
        signer.mac_hex(b"", &[message])
    }

    #[test]
    fn hmac_matches_rfc_4231_vectors_for_short_and_long_keys() {
        // Test case 2: a 4-byte key.
        assert_eq!(
            hmac_hex(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Test case 6: a 131-byte key, longer than the block, is hashed first.
        assert_eq!(
            hmac_hex(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            ),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
        // A key of exactly one block is used as it is.
        let exact = hmac_hex(&[7; 64], b"x");
        assert_ne!(exact, hmac_hex(&[7; 63], b"x"));
        assert_eq!(exact.len(), 64);
    }

    #[test]
    fn short_secrets_are_refused_unless_insecure_is_allowed() {
        let error = Secret::from_bytes(b"short".to_vec(), false).unwrap_err();
        assert!(error.to_string().contains("5 bytes"), "{error}");
        let insecure = Secret::from_bytes(b"short".to_vec(), true).unwrap();
        assert!(insecure.is_insecure());
        assert!(Signer::new(&insecure).is_insecure());
        let good = Secret::from_bytes([1u8; 32].to_vec(), false).unwrap();
        assert!(!good.is_insecure());
    }

    #[test]
    fn environment_secrets_follow_the_same_rule_and_messages_name_the_variable() {
        // Each test uses its own variable: tests run in parallel within one process.
        let var = "ENACT_TEST_SECRET_SIGNING_UNIT";
        let missing = Secret::from_env(var, false).unwrap_err().to_string();
        assert!(
            missing.contains(var) && missing.contains("openssl rand -hex 32"),
            "{missing}"
        );
        let empty = Secret::from_env(var, true).unwrap();
        assert!(empty.is_insecure());

        let short = Some("hunter2".into());
        let error = Secret::from_var("MY_SECRET", short.clone(), false)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("MY_SECRET") && error.contains("7 bytes"),
            "{error}"
        );
        assert!(
            !error.contains("hunter2"),
            "the message must not show the secret: {error}"
        );
        assert!(
            Secret::from_var("MY_SECRET", short, true)
                .unwrap()
                .is_insecure()
        );

        let long = Some("0123456789abcdef0123456789abcdef".into());
        assert!(
            !Secret::from_var("MY_SECRET", long, false)
                .unwrap()
                .is_insecure()
        );
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let secret =
            Secret::from_bytes(b"correct horse battery staple 1234".to_vec(), false).unwrap();
        let shown = format!("{secret:?} {:?}", Signer::new(&secret));
        assert!(!shown.contains("horse"), "{shown}");
        assert!(shown.contains("REDACTED"), "{shown}");
    }

    #[test]
    fn verify_covers_every_member_but_the_signature() {
        let signer = Signer::new(&Secret::from_bytes([9u8; 32].to_vec(), false).unwrap());
        let mut doc = json!({"a": 1, "b": [true, "x"]});
        let signed = canonical_bytes(&doc, "test").unwrap();
        let signature = signer.mac_hex(b"", &[&signed]);
        doc["signature"] = json!(signature);
        assert_eq!(signer.verify(&doc), Ok(sha256_hex(&signed)));

        let mut added = doc.clone();
        added["c"] = json!(null);
        assert_eq!(signer.verify(&added), Err(SignatureError::Mismatch));
        let mut changed = doc.clone();
        changed["a"] = json!(2);
        assert_eq!(signer.verify(&changed), Err(SignatureError::Mismatch));
        let mut bad_hex = doc.clone();
        bad_hex["signature"] = json!("zz");
        assert_eq!(signer.verify(&bad_hex), Err(SignatureError::Mismatch));
        let mut unsigned = doc.clone();
        unsigned.as_object_mut().unwrap().remove("signature");
        assert_eq!(
            signer.verify(&unsigned),
            Err(SignatureError::MissingSignature)
        );
        assert_eq!(signer.verify(&json!([1])), Err(SignatureError::NotAnObject));

        let other = Signer::new(&Secret::from_bytes([8u8; 32].to_vec(), false).unwrap());
        assert_eq!(other.verify(&doc), Err(SignatureError::Mismatch));
    }

    #[test]
    fn contexts_separate_macs() {
        let signer = Signer::new(&Secret::from_bytes([9u8; 32].to_vec(), false).unwrap());
        let plain = signer.mac_hex(b"", &[b"{}"]);
        assert_ne!(plain, signer.mac_hex(b"enact head v1\n", &[b"{}"]));
        assert!(signer.mac_matches(b"", &[b"{", b"}"], &plain));
    }
}
