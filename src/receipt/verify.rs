//! Verification: one document (schema, signature, field digests), one file (plus its name),
//! and the hash chain of a whole store. Problems are data, each naming the receipt and, where
//! known, the field.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::fast_path::{chain_hash, fast_check, split_at_signature};
use super::model::{Decision, Kind, Receipt, RunStatus};
use super::run_id::RunId;
use super::signing::{DIGESTS_FIELD, SIGNATURE_FIELD, SignatureError, Signer, field_digests};

/// The `prev_sha256` of the first receipt of a store.
pub const GENESIS_SHA256: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One thing wrong with one receipt (or with the chain, or the store's head).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// The file, or the run id when there is no file.
    pub receipt: String,
    /// The top-level field involved, when one is.
    pub field: Option<String>,
    pub message: String,
}

impl Problem {
    pub fn new(receipt: &str, field: Option<&str>, message: impl Into<String>) -> Problem {
        Problem {
            receipt: receipt.to_string(),
            field: field.map(str::to_string),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.receipt, self.message)
    }
}

/// The outcome of verifying a whole store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// How many receipt files were read.
    pub checked: usize,
    pub problems: Vec<Problem>,
    /// Whether the chain (sequence, `prev_sha256`, head) was checked, not only signatures.
    pub chain_checked: bool,
}

impl VerifyReport {
    pub fn is_valid(&self) -> bool {
        self.problems.is_empty()
    }

    /// The report of a store that could not be read at all.
    pub fn unreadable(store: &str, error: &impl fmt::Display) -> VerifyReport {
        VerifyReport {
            checked: 0,
            problems: vec![Problem::new(store, None, error.to_string())],
            chain_checked: false,
        }
    }
}

/// What the chain check needs of one receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainLink {
    /// The file (or run id) for messages.
    pub receipt: String,
    pub run_id: String,
    pub sequence: u64,
    pub prev_sha256: String,
    /// This receipt's chain hash: SHA-256 of its canonical JSON without `signature`.
    pub sha256: String,
    /// Whether the signature verified. A receipt that failed (and was reported) still holds
    /// its place in the sequence it claims, so one edited receipt is one problem, not also a
    /// gap; nothing is concluded from its hashes.
    pub verified: bool,
}

/// The newest receipt as the store's signed head records it: what makes a truncated tail
/// detectable.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainHead {
    pub sequence: u64,
    pub run_id: String,
    pub sha256: String,
}

/// Verifies a parsed receipt: its signature, then (only when the signature holds) that it is
/// a well-formed receipt of this version. When the signature fails, the field digests recorded
/// at signing name the field(s) added, removed or changed.
pub fn verify_document(doc: &Json, signer: &Signer) -> Result<Receipt, Vec<Problem>> {
    let name = doc
        .get("run_id")
        .and_then(Json::as_str)
        .map_or_else(|| "receipt".to_string(), |id| format!("receipt {id}"));
    check_value(&name, doc, signer).map(|(receipt, _)| receipt)
}

/// Verifies a receipt file: as [`verify_document`], and its name must be `<run_id>.json` for
/// the run id inside (a renamed file, or two files' contents swapped, is caught here).
pub fn verify_file(path: &Path, signer: &Signer) -> Result<Receipt, Vec<Problem>> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|error| {
        vec![Problem::new(
            &name,
            None,
            format!("cannot read the file: {error}"),
        )]
    })?;
    check_bytes(&name, &bytes, signer)?;
    // The signature held; the full parse is the schema check.
    let receipt = serde_json::from_slice::<Receipt>(&bytes).map_err(|error| {
        let fields = serde_json::from_slice::<Map<String, Json>>(&bytes).unwrap_or_default();
        vec![typed_field_problem(&name, &fields).unwrap_or_else(|| schema_problem(&name, &error))]
    })?;
    let mut problems = Vec::new();
    check_file_name(&name, path, &receipt.run_id, &mut problems);
    if problems.is_empty() {
        Ok(receipt)
    } else {
        Err(problems)
    }
}

/// Checks the chain over a store's receipts (in any order): sequences run 1..n without gap or
/// duplicate, each `prev_sha256` is the chain hash of its predecessor, and the newest matches
/// `head` when the store keeps one. Hashes are compared only between verified receipts.
pub fn verify_chain(links: &[ChainLink], head: Option<&ChainHead>) -> Vec<Problem> {
    let mut order: Vec<&ChainLink> = links.iter().collect();
    order.sort_by(|a, b| {
        (a.sequence, !a.verified, &a.receipt).cmp(&(b.sequence, !b.verified, &b.receipt))
    });
    let mut problems = Vec::new();
    let mut previous: Option<&ChainLink> = None;
    for group in order.chunk_by(|a, b| a.sequence == b.sequence) {
        let expected_prev = previous.map_or(GENESIS_SHA256, |p| p.sha256.as_str());
        // Of several receipts claiming one sequence, the one that links to its predecessor
        // continues the chain; the others are the copies.
        let Some(&link) = group
            .iter()
            .find(|link| link.verified && link.prev_sha256 == expected_prev)
            .or_else(|| group.first())
        else {
            continue;
        };
        for other in group.iter().filter(|other| !std::ptr::eq(**other, link)) {
            if other.verified && link.verified {
                problems.push(Problem::new(
                    &other.receipt,
                    Some("sequence"),
                    format!(
                        "sequence {} appears twice, here and in {} (run {}): a receipt was \
                         copied or replaced",
                        other.sequence, link.receipt, link.run_id
                    ),
                ));
            }
        }
        let expected = previous.map_or(1, |p| p.sequence.saturating_add(1));
        if link.sequence > expected {
            let missing = if link.sequence - expected == 1 {
                format!("the receipt with sequence {expected} is missing")
            } else {
                format!(
                    "the receipts with sequences {expected}..{} are missing",
                    link.sequence - 1
                )
            };
            problems.push(Problem::new(
                &link.receipt,
                Some("sequence"),
                format!(
                    "{missing} (deleted?): this receipt has sequence {}, {}",
                    link.sequence,
                    previous.map_or_else(
                        || "and no receipt comes before it".to_string(),
                        |p| format!(
                            "and the one before it is {} (sequence {})",
                            p.receipt, p.sequence
                        )
                    )
                ),
            ));
        } else if link.verified
            && previous.is_none_or(|p| p.verified)
            && link.prev_sha256 != expected_prev
        {
            let message = match previous {
                None => format!(
                    "the first receipt (sequence {}) should have prev_sha256 of 64 zeros, but \
                     it is {}",
                    link.sequence, link.prev_sha256
                ),
                Some(p) => format!(
                    "receipt sequence {} does not follow {} (sequence {}): its prev_sha256 is {} \
                     but the previous receipt hashes to {} — a receipt was replaced or the chain \
                     was reordered",
                    link.sequence, p.receipt, p.sequence, link.prev_sha256, p.sha256
                ),
            };
            problems.push(Problem::new(&link.receipt, Some("prev_sha256"), message));
        }
        previous = Some(link);
    }
    if let Some(head) = head {
        check_head(previous, head, &mut problems);
    }
    problems
}

fn check_head(newest: Option<&ChainLink>, head: &ChainHead, problems: &mut Vec<Problem>) {
    let last = newest.map_or(0, |link| link.sequence);
    let message = if last < head.sequence {
        let missing = if head.sequence - last == 1 {
            format!("the receipt with sequence {} is missing", head.sequence)
        } else {
            format!(
                "the receipts with sequences {}..{} are missing",
                last + 1,
                head.sequence
            )
        };
        format!(
            "the chain ends at sequence {last}, but the store's head records sequence {} (run \
             {}): {missing} — the newest receipts were deleted (truncated tail)",
            head.sequence, head.run_id
        )
    } else if last > head.sequence {
        format!(
            "the chain reaches sequence {last}, beyond the head's sequence {}: the head was \
             replaced by an older one, or receipts were added outside the store",
            head.sequence
        )
    } else {
        match newest {
            Some(link)
                if link.verified && (link.sha256 != head.sha256 || link.run_id != head.run_id) =>
            {
                format!(
                    "the newest receipt {} (run {}) is not the one the head records (run {}, \
                 sha256 {}): it was replaced",
                    link.receipt, link.run_id, head.run_id, head.sha256
                )
            }
            _ => return,
        }
    };
    problems.push(Problem::new("head", None, message));
}

/// The check of a parsed document; on success the receipt and its chain hash.
pub(crate) fn check_value(
    name: &str,
    doc: &Json,
    signer: &Signer,
) -> Result<(Receipt, String), Vec<Problem>> {
    let chain = match signer.verify(doc) {
        Ok(chain) => chain,
        Err(SignatureError::NotAnObject) => {
            return Err(vec![Problem::new(
                name,
                None,
                "is not a JSON object, so not a receipt",
            )]);
        }
        Err(SignatureError::MissingSignature) => {
            return Err(vec![Problem::new(
                name,
                Some(SIGNATURE_FIELD),
                "has no signature (field `signature` is missing or not a string)",
            )]);
        }
        Err(SignatureError::Canonical(message)) => {
            return Err(vec![Problem::new(
                name,
                None,
                format!("cannot be canonicalised: {message}"),
            )]);
        }
        Err(SignatureError::Mismatch) => {
            let empty = Map::new();
            return Err(diagnose(name, doc.as_object().unwrap_or(&empty), signer));
        }
    };
    let receipt = Receipt::deserialize(doc).map_err(|error| {
        let empty = Map::new();
        let fields = doc.as_object().unwrap_or(&empty);
        vec![typed_field_problem(name, fields).unwrap_or_else(|| schema_problem(name, &error))]
    })?;
    if !is_canonical_run_id(&receipt.run_id) {
        return Err(vec![Problem::new(
            name,
            Some("run_id"),
            format!(
                "field `run_id` is `{}`, not a lowercase hyphenated UUID",
                receipt.run_id
            ),
        )]);
    }
    Ok((receipt, chain))
}

/// Names what changed after signing, from the digests recorded then. Their keyed entry says
/// whether the digests themselves can be trusted.
fn diagnose(name: &str, fields: &Map<String, Json>, signer: &Signer) -> Vec<Problem> {
    let recorded = fields
        .get(DIGESTS_FIELD)
        .and_then(|digests| BTreeMap::<String, String>::deserialize(digests).ok());
    let Some(recorded) = recorded else {
        return vec![Problem::new(
            name,
            Some(DIGESTS_FIELD),
            "field `field_sha256` (the field digests) was removed or altered after signing, so \
             the signature fails and the changed field cannot be named",
        )];
    };
    let Ok(actual) = field_digests(fields) else {
        return vec![Problem::new(name, None, "the signature does not match")];
    };
    let mut differing = Vec::new();
    for (key, digest) in &actual {
        match recorded.get(key) {
            None => differing.push((key.as_str(), "added")),
            Some(signed) if signed != digest => differing.push((key.as_str(), "changed")),
            Some(_) => {}
        }
    }
    for key in recorded.keys() {
        if key != DIGESTS_FIELD && !actual.contains_key(key) {
            differing.push((key.as_str(), "removed"));
        }
    }
    let digests_hold = signer.digests_verify(&recorded);
    match (digests_hold, differing.is_empty()) {
        (true, false) => differing
            .into_iter()
            .map(|(key, how)| {
                Problem::new(
                    name,
                    Some(key),
                    format!("field `{key}` was {how} after signing"),
                )
            })
            .collect(),
        (true, true) => vec![Problem::new(
            name,
            Some(SIGNATURE_FIELD),
            "field `signature` was changed after signing: every other field is as signed",
        )],
        (false, false) => {
            let keys: Vec<String> = differing
                .iter()
                .map(|(key, _)| format!("`{key}`"))
                .collect();
            vec![Problem::new(
                name,
                Some(DIGESTS_FIELD),
                format!(
                    "field `field_sha256` (the field digests) was changed after signing, and \
                     the content no longer matches it for {}; which of the two was edited \
                     cannot be told",
                    keys.join(", ")
                ),
            )]
        }
        (false, true) => vec![Problem::new(name, Some(SIGNATURE_FIELD), WRONG_SECRET)],
    }
}

const WRONG_SECRET: &str = "the signature does not verify with this secret, nor do the field \
     digests, although the content matches them: the receipt was signed with a different \
     secret (or rewritten as a whole)";

/// Whether `problems` is the verdict of a receipt intact but for its signature: the sign of a
/// wrong secret when every receipt says it.
pub(crate) fn only_signature_differs(problems: &[Problem]) -> bool {
    matches!(problems, [problem] if problem.message == WRONG_SECRET)
}

/// serde names missing and unknown fields but not the field of a type error: find it by
/// checking each top-level member against its type.
fn typed_field_problem(name: &str, fields: &Map<String, Json>) -> Option<Problem> {
    fields.iter().find_map(|(key, value)| {
        let error = field_type_error(key, value)?;
        Some(Problem::new(
            name,
            Some(key),
            format!("field `{key}` has the wrong type: {error}"),
        ))
    })
}

/// The type error of one top-level member, if it has one. Unknown names return `None` (serde
/// reports those). A test checks every field of [`Receipt`] has an arm here.
fn field_type_error(key: &str, value: &Json) -> Option<String> {
    use super::model::{ActionRecord, Override, PolicyRecord};
    fn check<'a, T: Deserialize<'a>>(value: &'a Json) -> Option<String> {
        T::deserialize(value).err().map(|error| error.to_string())
    }
    match key {
        "version" => check::<u32>(value),
        "sequence" => check::<u64>(value),
        "insecure_secret" => check::<bool>(value),
        "kind" => check::<Kind>(value),
        "decision" => check::<Decision>(value),
        "status" => check::<RunStatus>(value),
        "original_run_id" | "error" => check::<Option<String>>(value),
        "run_id" | "workflow" | "workflow_sha256" | "policy_set_sha256" | "started_at"
        | "finished_at" | "prev_sha256" | "signature" => check::<String>(value),
        "actor" | "payload" => None,
        "policy_results" => check::<Vec<PolicyRecord>>(value),
        "actions_taken" => check::<Vec<ActionRecord>>(value),
        "overrides" => check::<Vec<Override>>(value),
        "field_sha256" => check::<BTreeMap<String, String>>(value),
        _ => None,
    }
}

fn schema_problem(name: &str, error: &serde_json::Error) -> Problem {
    let message = error.to_string();
    // serde's messages quote the field: "missing field `workflow`", "unknown field `x`, ...".
    let field = message
        .split('`')
        .nth(1)
        .filter(|_| message.starts_with("missing field") || message.starts_with("unknown field"))
        .map(str::to_string);
    Problem {
        receipt: name.to_string(),
        field,
        message: format!("is not a valid version-1 receipt: {message}"),
    }
}

fn parse(name: &str, bytes: &[u8]) -> Result<Json, Problem> {
    serde_json::from_slice(bytes).map_err(|error| {
        Problem::new(
            name,
            None,
            format!(
                "is not valid JSON at line {}, column {}: {error}",
                error.line(),
                error.column()
            ),
        )
    })
}

pub(crate) fn check_file_name(name: &str, path: &Path, run_id: &str, problems: &mut Vec<Problem>) {
    let stem = path
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_suffix(".json"));
    if stem != Some(run_id) {
        problems.push(Problem::new(
            name,
            Some("run_id"),
            format!(
                "the file holds the receipt of run {run_id}, but receipts are stored as \
                 <run_id>.json: the file was renamed, or its content swapped with another's"
            ),
        ));
    }
}

/// Verifies the bytes of one receipt file, the fast path first, else the parsed document;
/// returns what the chain check needs.
pub(crate) fn check_bytes(
    name: &str,
    bytes: &[u8],
    signer: &Signer,
) -> Result<ChainLink, Vec<Problem>> {
    if let Some(fast) = fast_check(bytes, signer)
        && is_canonical_run_id(fast.run_id)
    {
        return Ok(ChainLink {
            receipt: name.to_string(),
            run_id: fast.run_id.to_string(),
            sequence: fast.sequence,
            prev_sha256: fast.prev_sha256.to_string(),
            sha256: fast.chain_sha256,
            verified: true,
        });
    }
    let doc = parse(name, bytes).map_err(|problem| vec![problem])?;
    let (receipt, chain) = check_value(name, &doc, signer)?;
    Ok(ChainLink {
        receipt: name.to_string(),
        run_id: receipt.run_id,
        sequence: receipt.sequence,
        prev_sha256: receipt.prev_sha256,
        sha256: chain,
        verified: true,
    })
}

/// The place a receipt that failed verification claims in the chain, if it says.
pub(crate) fn claimed_link(name: &str, bytes: &[u8]) -> Option<ChainLink> {
    #[derive(Deserialize)]
    struct Claim {
        sequence: u64,
        #[serde(default)]
        run_id: String,
    }
    let claim: Claim = serde_json::from_slice(bytes).ok()?;
    Some(ChainLink {
        receipt: name.to_string(),
        run_id: claim.run_id,
        sequence: claim.sequence,
        prev_sha256: String::new(),
        sha256: String::new(),
        verified: false,
    })
}

fn is_canonical_run_id(run_id: &str) -> bool {
    RunId::is_canonical(run_id)
}

/// The chain hash of a receipt file without checking its signature (for rebuilding the
/// index, which has no secret): the cut at the last top-level signature member when the file
/// is canonical, else the canonical JSON of the parsed document without `signature`.
pub(crate) fn unverified_chain_hash(bytes: &[u8], signature: &str) -> Option<String> {
    if let Some((head, tail)) = split_at_signature(bytes, signature) {
        return Some(chain_hash(head, tail));
    }
    let Json::Object(fields) = serde_json::from_slice::<Json>(bytes).ok()? else {
        return None;
    };
    let signed = super::signing::signed_bytes(&fields).ok()?;
    Some(super::canonical::sha256_hex(&signed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::receipt::test_support::{receipt, signer};
    use serde_json::json;

    fn link(name: &str, sequence: u64, prev: &str, sha: &str) -> ChainLink {
        ChainLink {
            receipt: name.to_string(),
            run_id: format!("run-{name}"),
            sequence,
            prev_sha256: prev.to_string(),
            sha256: sha.to_string(),
            verified: true,
        }
    }

    fn chain(n: u64) -> Vec<ChainLink> {
        (1..=n)
            .map(|i| {
                let prev = if i == 1 {
                    GENESIS_SHA256.to_string()
                } else {
                    format!("h{}", i - 1)
                };
                link(&format!("r{i}"), i, &prev, &format!("h{i}"))
            })
            .collect()
    }

    fn head_of(link: &ChainLink) -> ChainHead {
        ChainHead {
            sequence: link.sequence,
            run_id: link.run_id.clone(),
            sha256: link.sha256.clone(),
        }
    }

    fn messages(links: &[ChainLink], head: Option<&ChainHead>) -> Vec<String> {
        verify_chain(links, head)
            .into_iter()
            .map(|p| p.to_string())
            .collect()
    }

    #[test]
    fn an_intact_chain_in_any_order_passes() {
        let mut links = chain(4);
        let head = head_of(&links[3]);
        links.reverse();
        assert!(verify_chain(&links, Some(&head)).is_empty());
        assert!(verify_chain(&[], None).is_empty());
    }

    #[test]
    fn gaps_duplicates_and_broken_links_each_have_their_message() {
        let links = chain(5);
        let missing_start: Vec<_> = links[2..].to_vec();
        assert_eq!(
            messages(&missing_start, None),
            [
                "r3: the receipts with sequences 1..2 are missing (deleted?): this receipt has \
              sequence 3, and no receipt comes before it"
            ]
        );
        let mut duplicated = links.clone();
        duplicated.push(link("copy", 2, GENESIS_SHA256, "h1"));
        let found = messages(&duplicated, None);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("sequence 2 appears twice"), "{found:?}");
        let mut replaced = links.clone();
        replaced[3].prev_sha256 = "other".to_string();
        let found = messages(&replaced, None);
        assert!(
            found[0].starts_with("r4: receipt sequence 4 does not follow r3"),
            "{found:?}"
        );
        let mut bad_genesis = links.clone();
        bad_genesis[0].prev_sha256 = "x".to_string();
        assert!(messages(&bad_genesis, None)[0].contains("64 zeros"));
    }

    #[test]
    fn the_head_catches_truncation_additions_and_replacement() {
        let links = chain(5);
        let head = head_of(&links[4]);
        let found = messages(&links[..3], Some(&head));
        assert_eq!(found.len(), 1);
        assert!(found[0].contains("sequences 4..5 are missing") && found[0].contains("truncated"));
        assert!(messages(&[], Some(&head))[0].contains("sequences 1..5"));
        let older = head_of(&links[3]);
        assert!(messages(&links, Some(&older))[0].contains("beyond the head"));
        let mut replaced = head.clone();
        replaced.sha256 = "other".to_string();
        assert!(messages(&links, Some(&replaced))[0].contains("not the one the head records"));
    }

    #[test]
    fn an_unverified_receipt_holds_its_place_without_more_noise() {
        let mut links = chain(4);
        links[1].verified = false;
        links[1].sha256 = String::new();
        assert!(verify_chain(&links, Some(&head_of(&links[3]))).is_empty());
        let mut newest_bad = chain(3);
        newest_bad[2].verified = false;
        assert!(verify_chain(&newest_bad, Some(&head_of(&chain(3)[2]))).is_empty());
    }

    #[test]
    fn every_receipt_field_has_a_type_check() {
        let doc = serde_json::to_value(receipt(json!({}))).unwrap();
        for key in doc.as_object().unwrap().keys() {
            let error = field_type_error(key, &json!([[]]));
            if key == "actor" || key == "payload" {
                assert!(error.is_none(), "{key} takes any JSON");
            } else {
                assert!(error.is_some(), "{key} has no arm in field_type_error");
            }
        }
    }

    #[test]
    fn documents_that_are_not_receipts_are_named_as_such() {
        let signer = signer();
        assert!(
            verify_document(&json!([1]), &signer).unwrap_err()[0]
                .message
                .contains("not a JSON object")
        );
        let problems = verify_document(&json!({"run_id": "x"}), &signer).unwrap_err();
        assert_eq!(problems[0].receipt, "receipt x");
        assert_eq!(problems[0].field.as_deref(), Some("signature"));
    }

    #[test]
    fn a_signed_receipt_with_a_non_canonical_run_id_is_refused() {
        let mut upper = receipt(json!({}));
        upper.run_id = upper.run_id.to_uppercase();
        signer().sign(&mut upper).unwrap();
        let doc = serde_json::to_value(&upper).unwrap();
        let problems = verify_document(&doc, &signer()).unwrap_err();
        assert_eq!(problems[0].field.as_deref(), Some("run_id"), "{problems:?}");
    }
}
