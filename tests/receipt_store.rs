//! Receipts end to end: signing and verifying documents, canonical JSON against RFC 8785, and
//! the directory store (chain, head, index, journal, concurrent appenders) on real files.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use chrono::{Duration, Utc};
use enact::receipt::{
    ActionRecord, Decision, DirectoryStore, Kind, Override, PolicyRecord, RECEIPT_VERSION, Receipt,
    ReceiptStore, RunId, RunStatus, Secret, Signer, canonical_json, sha256_hex, verify_document,
    verify_file,
};
use proptest::prelude::*;
use serde_json::{Value as Json, json};

const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef-test";

fn signer() -> Signer {
    Signer::new(&Secret::from_bytes(SECRET.to_vec(), false).unwrap())
}

fn other_signer() -> Signer {
    Signer::new(
        &Secret::from_bytes(b"another secret of at least 32 bytes!".to_vec(), false).unwrap(),
    )
}

/// A receipt as the engine would build it, before the store chains and signs it.
fn receipt(workflow: &str) -> Receipt {
    receipt_at(workflow, &Utc::now().to_rfc3339())
}

fn receipt_at(workflow: &str, started_at: &str) -> Receipt {
    Receipt {
        version: RECEIPT_VERSION,
        run_id: RunId::new().to_string(),
        kind: Kind::Run,
        original_run_id: None,
        workflow: workflow.to_string(),
        workflow_sha256: "a".repeat(64),
        policy_set_sha256: "b".repeat(64),
        actor: json!({"email": "agent@example.com", "role": "agent", "attributes": {"team": "infra"}}),
        payload: json!({"branch": "agent/fix", "files": 3, "ratio": 0.5, "note": "é ✓ \u{1F600}"}),
        policy_results: vec![PolicyRecord {
            policy: "git.dont_push_to_main".to_string(),
            status: "PASS".to_string(),
            level: "hard".to_string(),
            stage: "run".to_string(),
            reason: "branch agent/fix is not main".to_string(),
            evidence: json!({"branch": "agent/fix"}),
            location: "git.enact:3:1".to_string(),
        }],
        decision: Decision::Pass,
        status: RunStatus::Succeeded,
        actions_taken: vec![ActionRecord {
            step: "write".to_string(),
            system: "files".to_string(),
            action: "write_file".to_string(),
            args: json!({"path": "notes.txt", "content": "hello"}),
            success: true,
            output: json!({"bytes": 5}),
            error: None,
            already_done: json!(false),
            rollback_data: json!({"existed": false}),
            started_at: started_at.to_string(),
            duration_ms: 3,
        }],
        overrides: vec![Override {
            policy: "time.within_maintenance_window".to_string(),
            reason: "hotfix".to_string(),
            actor: "lead@example.com".to_string(),
        }],
        error: None,
        insecure_secret: false,
        started_at: started_at.to_string(),
        finished_at: started_at.to_string(),
        sequence: 0,
        prev_sha256: String::new(),
        field_sha256: BTreeMap::new(),
        signature: String::new(),
    }
}

/// A receipt signed outside any store (sequence 1 of a new chain).
fn signed(workflow: &str) -> Receipt {
    let mut receipt = receipt(workflow);
    receipt.sequence = 1;
    receipt.prev_sha256 = "0".repeat(64);
    signer().sign(&mut receipt).unwrap();
    receipt
}

fn problems_of(doc: &Json) -> Vec<(Option<String>, String)> {
    verify_document(doc, &signer())
        .unwrap_err()
        .into_iter()
        .map(|problem| (problem.field, problem.message))
        .collect()
}

// ---- documents ----

#[test]
fn signed_receipts_verify_and_round_trip() {
    let receipt = signed("deploy");
    assert_eq!(receipt.signature.len(), 64);
    // One digest per field but the signature and the digests, plus the keyed entry.
    let doc = serde_json::to_value(&receipt).unwrap();
    assert_eq!(
        receipt.field_sha256.len(),
        doc.as_object().unwrap().len() - 1
    );
    assert_eq!(
        receipt.field_sha256["payload"],
        sha256_hex(&canonical_json(&receipt.payload).unwrap())[..16]
    );
    let text = serde_json::to_string_pretty(&receipt).unwrap();
    let parsed: Json = serde_json::from_str(&text).unwrap();
    assert_eq!(verify_document(&parsed, &signer()).unwrap(), receipt);
    // The signature is the plain HMAC of the canonical JSON without it, as SPEC §7 says.
    let mut unsigned = parsed.clone();
    unsigned.as_object_mut().unwrap().remove("signature");
    let bytes = canonical_json(&unsigned).unwrap();
    assert_eq!(signer().verify(&parsed).unwrap(), sha256_hex(&bytes));
}

#[test]
fn a_receipt_signed_with_an_insecure_secret_says_so() {
    let insecure = Signer::new(&Secret::from_bytes(b"short".to_vec(), true).unwrap());
    let mut receipt = receipt("deploy");
    assert!(!receipt.insecure_secret);
    insecure.sign(&mut receipt).unwrap();
    assert!(receipt.insecure_secret);
    let doc = serde_json::to_value(&receipt).unwrap();
    assert!(verify_document(&doc, &insecure).unwrap().insecure_secret);
}

#[test]
fn a_different_secret_is_told_apart_from_tampering() {
    let doc = serde_json::to_value(signed("deploy")).unwrap();
    let problems = verify_document(&doc, &other_signer()).unwrap_err();
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0].message.contains("different secret"),
        "{}",
        problems[0].message
    );
}

/// A different value of the same JSON type, so that the schema would still accept it.
fn altered(value: &Json) -> Json {
    match value {
        Json::Null => json!("x"),
        Json::Bool(b) => json!(!b),
        Json::Number(n) => json!(n.as_f64().unwrap() + 1.0),
        Json::String(s) => json!(format!("{s}x")),
        Json::Array(items) => {
            let mut items = items.clone();
            items.push(json!(null));
            Json::Array(items)
        }
        Json::Object(map) => {
            let mut map = map.clone();
            map.insert("extra".to_string(), json!(1));
            Json::Object(map)
        }
    }
}

#[test]
fn every_changed_field_is_caught_and_named() {
    let doc = serde_json::to_value(signed("deploy")).unwrap();
    let fields: Vec<String> = doc.as_object().unwrap().keys().cloned().collect();
    assert!(fields.len() >= 22, "{fields:?}");
    for field in &fields {
        let mut tampered = doc.clone();
        tampered[field.as_str()] = altered(&doc[field.as_str()]);
        let problems = problems_of(&tampered);
        assert_eq!(problems.len(), 1, "{field}: {problems:?}");
        let (named, message) = &problems[0];
        assert_eq!(named.as_deref(), Some(field.as_str()), "{message}");
        assert!(message.contains(&format!("field `{field}`")), "{message}");
        if field != "field_sha256" {
            assert!(message.contains("was changed after signing"), "{message}");
        }
    }
}

#[test]
fn an_added_or_removed_field_is_named() {
    let doc = serde_json::to_value(signed("deploy")).unwrap();
    let mut added = doc.clone();
    added["approved_by"] = json!("mallory@example.com");
    assert_eq!(
        problems_of(&added),
        [(
            Some("approved_by".to_string()),
            "field `approved_by` was added after signing".to_string()
        )]
    );
    let mut removed = doc.clone();
    removed.as_object_mut().unwrap().remove("error");
    assert_eq!(
        problems_of(&removed),
        [(
            Some("error".to_string()),
            "field `error` was removed after signing".to_string()
        )]
    );
    let mut unsigned = doc.clone();
    unsigned.as_object_mut().unwrap().remove("signature");
    assert_eq!(problems_of(&unsigned)[0].0.as_deref(), Some("signature"));
    // A nested change is named by its top-level field.
    let mut nested = doc.clone();
    nested["actions_taken"][0]["args"]["path"] = json!("/etc/passwd");
    assert_eq!(problems_of(&nested)[0].0.as_deref(), Some("actions_taken"));
}

#[test]
fn a_signed_document_of_the_wrong_shape_names_the_field() {
    // Signed with the right secret but not a version-1 receipt: the schema check names it.
    let signer = signer();
    let mut doc = serde_json::to_value(signed("deploy")).unwrap();
    doc["sequence"] = json!("one");
    doc.as_object_mut().unwrap().remove("signature");
    doc["signature"] = json!(hmac_hex(&canonical_json(&doc).unwrap()));
    assert!(signer.verify(&doc).is_ok());
    let problems = verify_document(&doc, &signer).unwrap_err();
    assert_eq!(
        problems[0].field.as_deref(),
        Some("sequence"),
        "{problems:?}"
    );
    assert!(problems[0].message.contains("wrong type"), "{problems:?}");

    doc["sequence"] = json!(1);
    doc.as_object_mut().unwrap().remove("workflow");
    doc.as_object_mut().unwrap().remove("signature");
    let bytes = canonical_json(&doc).unwrap();
    doc["signature"] = json!(hmac_hex(&bytes));
    let problems = verify_document(&doc, &signer).unwrap_err();
    assert!(
        problems
            .iter()
            .any(|p| p.field.as_deref() == Some("workflow")),
        "{problems:?}"
    );
}

/// HMAC-SHA256 with the test secret, computed independently of the crate.
fn hmac_hex(message: &[u8]) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(SECRET).unwrap();
    mac.update(message);
    hex::encode(mac.finalize().into_bytes())
}

#[test]
fn the_signature_is_an_hmac_any_implementation_can_check() {
    let doc = serde_json::to_value(signed("deploy")).unwrap();
    let mut unsigned = doc.clone();
    unsigned.as_object_mut().unwrap().remove("signature");
    assert_eq!(
        hmac_hex(&canonical_json(&unsigned).unwrap()),
        doc["signature"]
    );
}

// ---- canonical JSON (RFC 8785) ----

fn canonical(text: &str) -> String {
    String::from_utf8(canonical_json(&serde_json::from_str(text).unwrap()).unwrap()).unwrap()
}

#[test]
fn canonical_json_matches_rfc_8785_examples() {
    // RFC 8785 §3.2.2 (the "numbers" / "string" / "literals" example).
    let input = r#"{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }"#;
    assert_eq!(
        canonical(input),
        r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#
    );
    // RFC 8785 §3.2.3: keys sorted by UTF-16 code units, not by UTF-8 bytes.
    let sorting = "{\"\u{20ac}\": \"Euro Sign\", \"\\r\": \"Carriage Return\", \"\u{fb33}\": \"Hebrew Letter Dalet With Dagesh\", \"1\": \"One\", \"\u{1f600}\": \"Emoji: Grinning Face\", \"\u{80}\": \"Control\", \"\u{f6}\": \"Latin Small Letter O With Diaeresis\"}";
    let sorted = canonical(sorting);
    let order = [
        "\\r",
        "1",
        "\u{80}",
        "\u{f6}",
        "\u{20ac}",
        "\u{1f600}",
        "\u{fb33}",
    ];
    let positions: Vec<usize> = order
        .iter()
        .map(|key| sorted.find(&format!("\"{key}\":")).unwrap())
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{sorted}");
}

#[test]
fn canonical_numbers_take_their_ecmascript_form() {
    assert_eq!(
        canonical("[1.0, 100, 1e21, 1e20, -0.0, 0.1, 5e-7, 123456789012]"),
        "[1,100,1e+21,100000000000000000000,0,0.1,5e-7,123456789012]"
    );
    // Beyond 2^53 integers become the nearest double, as the RFC requires.
    assert_eq!(canonical("[9007199254740993]"), "[9007199254740992]");
}

#[test]
fn canonical_json_escapes_only_what_it_must() {
    assert_eq!(
        canonical(r#"["\u00e9", "\u001f", "\t", "\ud83d\ude00", "<>&"]"#),
        "[\"é\",\"\\u001f\",\"\\t\",\"\u{1F600}\",\"<>&\"]"
    );
    assert_eq!(
        canonical(r#"{"b": {"d": 1, "c": 2}, "a": []}"#),
        r#"{"a":[],"b":{"c":2,"d":1}}"#
    );
}

fn json_value() -> impl Strategy<Value = Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        ".{0,12}".prop_map(Json::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Json::Array),
            proptest::collection::btree_map(".{0,8}", inner, 0..6)
                .prop_map(|map| Json::Object(map.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn any_payload_survives_sign_serialise_parse_verify(payload in json_value(), pretty in any::<bool>()) {
        let mut receipt = receipt("prop");
        receipt.payload = payload;
        receipt.sequence = 1;
        receipt.prev_sha256 = "0".repeat(64);
        let sealed = signer().sign(&mut receipt).unwrap();
        let text = if pretty {
            serde_json::to_string_pretty(&receipt).unwrap()
        } else {
            String::from_utf8(sealed.document.clone()).unwrap()
        };
        let parsed: Json = serde_json::from_str(&text).unwrap();
        prop_assert!(verify_document(&parsed, &signer()).is_ok());
        prop_assert_eq!(signer().verify(&parsed).unwrap(), sealed.chain_sha256);
        // Canonicalisation is idempotent.
        let once = canonical_json(&parsed).unwrap();
        let twice = canonical_json(&serde_json::from_slice(&once).unwrap()).unwrap();
        prop_assert_eq!(once, twice);
    }
}

// ---- the directory store ----

fn store() -> (tempfile::TempDir, DirectoryStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = DirectoryStore::open(dir.path().join("receipts")).unwrap();
    (dir, store)
}

fn append(store: &DirectoryStore, n: usize) -> Vec<Receipt> {
    (0..n)
        .map(|i| {
            store
                .append(receipt(&format!("wf{}", i % 3)), &signer())
                .unwrap()
        })
        .collect()
}

fn path_of(store: &DirectoryStore, receipt: &Receipt) -> PathBuf {
    store.receipt_path(&receipt.run_id.parse().unwrap())
}

fn messages(store: &DirectoryStore) -> Vec<String> {
    let report = store.verify(&signer());
    report.problems.iter().map(ToString::to_string).collect()
}

#[test]
fn appended_receipts_chain_and_can_be_read_back() {
    let (_dir, store) = store();
    assert!(store.describe().starts_with("directory "));
    let stored = append(&store, 5);
    for (i, receipt) in stored.iter().enumerate() {
        assert_eq!(receipt.sequence, i as u64 + 1);
        let doc = store
            .get(&receipt.run_id.parse().unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(verify_document(&doc, &signer()).unwrap(), *receipt);
        assert_eq!(
            verify_file(&path_of(&store, receipt), &signer()).unwrap(),
            *receipt
        );
    }
    assert_eq!(stored[0].prev_sha256, "0".repeat(64));
    let summaries = store.summaries().unwrap();
    assert_eq!(summaries.len(), 5);
    for (pair, summary) in stored.windows(2).zip(&summaries) {
        assert_eq!(pair[1].prev_sha256, summary.sha256);
    }
    assert_eq!(summaries[2].run_id, stored[2].run_id);
    assert_eq!(summaries[2].actor, "agent@example.com");
    assert_eq!(summaries[2].actions, 1);
    assert_eq!(summaries[2].workflow, "wf2");
    assert!(store.get(&RunId::new()).unwrap().is_none());
    let report = store.verify(&signer());
    assert!(report.is_valid(), "{:?}", report.problems);
    assert_eq!(report.checked, 5);
    assert!(report.chain_checked);
}

#[test]
fn files_are_canonical_json_named_by_run_id() {
    let (_dir, store) = store();
    let stored = append(&store, 1).remove(0);
    let bytes = fs::read(path_of(&store, &stored)).unwrap();
    let doc: Json = serde_json::from_slice(&bytes).unwrap();
    let mut expected = canonical_json(&doc).unwrap();
    expected.push(b'\n');
    assert_eq!(bytes, expected);
}

#[test]
fn a_reformatted_receipt_still_verifies() {
    let (_dir, store) = store();
    let stored = append(&store, 2);
    let path = path_of(&store, &stored[1]);
    let doc: Json = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    fs::write(&path, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    assert!(messages(&store).is_empty(), "{:?}", messages(&store));
}

#[test]
fn a_changed_receipt_is_named_by_file_and_field() {
    let (_dir, store) = store();
    let stored = append(&store, 3);
    let path = path_of(&store, &stored[1]);
    let text = fs::read_to_string(&path).unwrap();
    fs::write(&path, text.replace("agent/fix", "main")).unwrap();
    let report = store.verify(&signer());
    assert_eq!(
        report.problems.len(),
        2,
        "one problem per changed field, no chain noise"
    );
    let fields: Vec<_> = report.problems.iter().map(|p| p.field.clone()).collect();
    assert!(
        fields.contains(&Some("payload".to_string())),
        "{:?}",
        report.problems
    );
    assert!(
        fields.contains(&Some("policy_results".to_string())),
        "{:?}",
        report.problems
    );
    let file = format!("{}.json", stored[1].run_id);
    assert!(
        report.problems.iter().all(|p| p.receipt.ends_with(&file)),
        "{:?}",
        report.problems
    );
}

#[test]
fn a_deleted_receipt_leaves_a_gap() {
    let (_dir, store) = store();
    let stored = append(&store, 5);
    fs::remove_file(path_of(&store, &stored[2])).unwrap();
    let found = messages(&store);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].contains("the receipt with sequence 3 is missing"),
        "{found:?}"
    );
}

#[test]
fn swapped_contents_are_caught() {
    let (_dir, store) = store();
    let stored = append(&store, 4);
    let (a, b) = (path_of(&store, &stored[1]), path_of(&store, &stored[2]));
    let (text_a, text_b) = (fs::read(&a).unwrap(), fs::read(&b).unwrap());
    fs::write(&a, text_b).unwrap();
    fs::write(&b, text_a).unwrap();
    let found = messages(&store);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found
            .iter()
            .all(|m| m.contains("renamed, or its content swapped")),
        "{found:?}"
    );
}

#[test]
fn a_renamed_receipt_is_caught() {
    let (_dir, store) = store();
    let stored = append(&store, 2);
    let path = path_of(&store, &stored[0]);
    let renamed = path.with_file_name(format!("{}.json", RunId::new()));
    fs::rename(&path, &renamed).unwrap();
    let found = messages(&store);
    assert!(found.iter().any(|m| m.contains("renamed")), "{found:?}");
    assert!(verify_file(&renamed, &signer()).is_err());
}

#[test]
fn a_duplicated_receipt_is_caught() {
    let (_dir, store) = store();
    let stored = append(&store, 3);
    let copy = store.root().join(format!("{}.json", RunId::new()));
    fs::copy(path_of(&store, &stored[1]), &copy).unwrap();
    let found = messages(&store);
    assert!(found.iter().any(|m| m.contains("renamed")), "{found:?}");
    assert!(
        found.iter().any(|m| m.contains("sequence 2 appears twice")),
        "{found:?}"
    );
}

#[test]
fn a_receipt_from_another_chain_does_not_follow_its_predecessor() {
    // Signed with the same secret, right sequence, wrong prev_sha256: a replaced receipt.
    let (_dir, store) = store();
    let stored = append(&store, 3);
    let mut impostor = receipt("wf");
    impostor.run_id = stored[1].run_id.clone();
    impostor.sequence = 2;
    impostor.prev_sha256 = "1".repeat(64);
    let sealed = signer().sign(&mut impostor).unwrap();
    fs::write(path_of(&store, &stored[1]), sealed.document).unwrap();
    let found = messages(&store);
    assert!(
        found.iter().any(|m| m.contains("does not follow")),
        "{found:?}"
    );
}

#[test]
fn a_truncated_tail_is_caught_through_the_head() {
    let (_dir, store) = store();
    let stored = append(&store, 5);
    fs::remove_file(path_of(&store, &stored[4])).unwrap();
    fs::remove_file(path_of(&store, &stored[3])).unwrap();
    let found = messages(&store);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("truncated tail"), "{found:?}");
    assert!(found[0].contains("sequences 4..5"), "{found:?}");
    // `ls` reads the index, which still lists them: it is a fast view, `verify` the check.
    assert_eq!(store.summaries().unwrap().len(), 5);
}

#[test]
fn a_tampered_or_missing_head_is_caught() {
    let (_dir, store) = store();
    append(&store, 3);
    let head = store.root().join(".enact/head.json");
    let text = fs::read_to_string(&head).unwrap();
    fs::write(&head, text.replace("\"sequence\":3", "\"sequence\":2")).unwrap();
    let found = messages(&store);
    assert!(
        found
            .iter()
            .any(|m| m.contains("head does not carry a valid signature")),
        "{found:?}"
    );
    let error = store
        .append(receipt("wf"), &signer())
        .unwrap_err()
        .to_string();
    assert!(error.contains("head"), "{error}");

    fs::remove_file(&head).unwrap();
    let found = messages(&store);
    assert!(
        found.iter().any(|m| m.contains("head is missing")),
        "{found:?}"
    );
    assert!(store.append(receipt("wf"), &signer()).is_err());
}

#[test]
fn the_wrong_secret_is_reported_once() {
    let (_dir, store) = store();
    append(&store, 4);
    let report = store.verify(&other_signer());
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    assert!(
        report.problems[0].message.contains("secret"),
        "{:?}",
        report.problems
    );
    assert!(store.append(receipt("wf"), &other_signer()).is_err());
}

#[test]
fn an_added_receipt_beyond_the_head_is_caught() {
    let (_dir, store) = store();
    let stored = append(&store, 2);
    let mut extra = receipt("wf");
    extra.sequence = 3;
    extra.prev_sha256 = store.summaries().unwrap()[1].sha256.clone();
    let sealed = signer().sign(&mut extra).unwrap();
    fs::write(
        store.root().join(format!("{}.json", extra.run_id)),
        sealed.document,
    )
    .unwrap();
    let found = messages(&store);
    assert!(
        found.iter().any(|m| m.contains("beyond the head")),
        "{found:?} {stored:?}"
    );
}

#[test]
fn the_index_is_rebuilt_when_missing_torn_or_short() {
    let (_dir, store) = store();
    let stored = append(&store, 4);
    let index = store.root().join(".enact/index.jsonl");
    let full = store.summaries().unwrap();

    fs::remove_file(&index).unwrap();
    let rebuilt = store.summaries().unwrap();
    assert_eq!(rebuilt.len(), 4);
    for (a, b) in rebuilt.iter().zip(&full) {
        assert_eq!(
            (&a.run_id, &a.sha256, a.sequence),
            (&b.run_id, &b.sha256, b.sequence)
        );
    }

    let text = fs::read_to_string(&index).unwrap();
    let cut = text.len() - 20;
    fs::write(&index, &text[..cut]).unwrap(); // torn last line
    assert_eq!(store.summaries().unwrap().len(), 4);

    let lines: Vec<&str> = text.lines().collect();
    fs::write(&index, format!("{}\n", lines[..2].join("\n"))).unwrap(); // short by two
    assert_eq!(store.summaries().unwrap().len(), 4);

    // Appending after damage keeps the index whole.
    fs::write(&index, format!("{}\n", lines[..3].join("\n"))).unwrap();
    let next = store.append(receipt("wf"), &signer()).unwrap();
    let summaries = store.summaries().unwrap();
    assert_eq!(
        summaries.iter().map(|s| s.sequence).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
    assert_eq!(summaries[4].run_id, next.run_id);
    assert_eq!(stored[3].sequence, 4);
}

#[test]
fn an_interrupted_append_is_finished_by_the_next_one() {
    // The state a crash leaves between the head (the commit point) and the rename: simulate
    // it by moving the newest receipt back into staging and cutting its index line.
    let (_dir, store) = store();
    let stored = append(&store, 3);
    let staging = store.root().join(".enact/staging");
    // The rename into the root is not fsynced, so a crash can put back more than the newest.
    for receipt in &stored[1..] {
        let path = path_of(&store, receipt);
        fs::rename(&path, staging.join(path.file_name().unwrap())).unwrap();
    }
    let index = store.root().join(".enact/index.jsonl");
    let text = fs::read_to_string(&index).unwrap();
    let kept: Vec<&str> = text.lines().take(2).collect();
    fs::write(&index, format!("{}\n", kept.join("\n"))).unwrap();
    // Staged files of appends that never committed are discarded: a torn one, and a whole
    // one beyond the head's sequence.
    fs::write(staging.join(format!("{}.json", RunId::new())), b"{partial").unwrap();
    let mut uncommitted = receipt("wf");
    uncommitted.sequence = 4;
    uncommitted.prev_sha256 = "0".repeat(64);
    let sealed = signer().sign(&mut uncommitted).unwrap();
    fs::write(
        staging.join(format!("{}.json", uncommitted.run_id)),
        sealed.document,
    )
    .unwrap();

    assert!(
        store
            .get(&stored[2].run_id.parse().unwrap())
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .get(&stored[1].run_id.parse().unwrap())
            .unwrap()
            .is_some()
    );
    let next = store.append(receipt("wf"), &signer()).unwrap();
    assert_eq!(next.sequence, 4);
    assert_eq!(fs::read_dir(&staging).unwrap().count(), 0);
    assert!(
        store
            .get(&uncommitted.run_id.parse().unwrap())
            .unwrap()
            .is_none()
    );
    assert_eq!(store.summaries().unwrap().len(), 4);
    assert!(messages(&store).is_empty(), "{:?}", messages(&store));
}

#[test]
fn a_duplicate_run_id_is_refused() {
    let (_dir, store) = store();
    let first = append(&store, 1).remove(0);
    let mut again = receipt("wf");
    again.run_id = first.run_id.clone();
    let error = store.append(again, &signer()).unwrap_err().to_string();
    assert!(error.contains("already exists"), "{error}");
    let mut bad = receipt("wf");
    bad.run_id = "../../etc/passwd".to_string();
    let error = store.append(bad, &signer()).unwrap_err().to_string();
    assert!(
        error.contains("`../../etc/passwd` is not a run id"),
        "{error}"
    );
}

#[test]
fn receipts_since_reads_only_the_recent_ones() {
    let (_dir, store) = store();
    let old = (Utc::now() - Duration::hours(3)).to_rfc3339();
    store
        .append(receipt_at("send_email", &old), &signer())
        .unwrap();
    let recent: Vec<Receipt> = (0..3)
        .map(|i| {
            store
                .append(
                    receipt(if i == 1 { "other" } else { "send_email" }),
                    &signer(),
                )
                .unwrap()
        })
        .collect();
    let since = Utc::now() - Duration::hours(1);
    let all = store.receipts_since(since, None).unwrap();
    assert_eq!(all.len(), 3);
    let emails = store.receipts_since(since, Some("send_email")).unwrap();
    let ids: Vec<&str> = emails
        .iter()
        .map(|doc| doc["run_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [recent[0].run_id.as_str(), recent[2].run_id.as_str()]);
    assert_eq!(
        store
            .receipts_since(Utc::now() - Duration::hours(4), None)
            .unwrap()
            .len(),
        4
    );
    // A receipt the index lists but that was deleted fails closed.
    fs::remove_file(path_of(&store, &recent[2])).unwrap();
    assert!(store.receipts_since(since, None).is_err());
}

#[test]
fn concurrent_appenders_keep_one_intact_chain() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("receipts");
    let (threads, per_thread) = (4, 100);
    std::thread::scope(|scope| {
        for t in 0..threads {
            let root = root.clone();
            scope.spawn(move || {
                // Each thread opens its own store: its own lock file handles, as a process would.
                let store = DirectoryStore::open(&root).unwrap();
                let signer = signer();
                for _ in 0..per_thread {
                    store
                        .append(receipt(&format!("thread{t}")), &signer)
                        .unwrap();
                }
            });
        }
    });
    let store = DirectoryStore::open(&root).unwrap();
    let report = store.verify(&signer());
    assert!(
        report.is_valid(),
        "{:?}",
        &report.problems[..report.problems.len().min(5)]
    );
    assert_eq!(report.checked, threads * per_thread);
    let summaries = store.summaries().unwrap();
    let sequences: Vec<u64> = summaries.iter().map(|s| s.sequence).collect();
    assert_eq!(
        sequences,
        (1..=(threads * per_thread) as u64).collect::<Vec<_>>()
    );
    let recorded: Vec<&str> = summaries.iter().map(|s| s.recorded_at.as_str()).collect();
    assert!(
        recorded.windows(2).all(|w| w[0] <= w[1]),
        "recorded_at never decreases"
    );
}

#[test]
fn one_store_shared_by_threads_also_serialises() {
    let (_dir, store) = store();
    std::thread::scope(|scope| {
        for _ in 0..3 {
            scope.spawn(|| {
                for _ in 0..30 {
                    store.append(receipt("shared"), &signer()).unwrap();
                }
            });
        }
    });
    assert!(store.verify(&signer()).is_valid());
    assert_eq!(store.summaries().unwrap().len(), 90);
}

// ---- journals ----

fn journal_file(store: &DirectoryStore, run_id: &RunId) -> PathBuf {
    store.root().join(format!(".enact/journal/{run_id}.jsonl"))
}

#[test]
fn journals_round_trip_and_are_listed() {
    let (_dir, store) = store();
    let (run, other) = (RunId::new(), RunId::new());
    assert!(store.journal_read(&run, &signer()).unwrap().is_none());
    let entries = [
        json!({"step": "write", "intent": "write_file", "rollback_data": {"old": "x"}}),
        json!({"step": "write", "done": true}),
    ];
    for entry in &entries {
        store.journal_append(&run, entry, &signer()).unwrap();
    }
    store
        .journal_append(&other, &json!({"step": "a"}), &signer())
        .unwrap();
    let journal = store.journal_read(&run, &signer()).unwrap().unwrap();
    assert_eq!(journal.entries, entries);
    assert!(!journal.torn_line_ignored);
    let mut expected = vec![run, other];
    expected.sort();
    assert_eq!(store.journals().unwrap(), expected);
    store.journal_remove(&run).unwrap();
    store.journal_remove(&run).unwrap();
    assert_eq!(store.journals().unwrap(), [other]);
    assert!(store.journal_read(&run, &signer()).unwrap().is_none());
}

#[test]
fn journal_entries_must_be_objects_without_mac() {
    let (_dir, store) = store();
    let run = RunId::new();
    assert!(store.journal_append(&run, &json!([1]), &signer()).is_err());
    assert!(
        store
            .journal_append(&run, &json!({"mac": "x"}), &signer())
            .is_err()
    );
}

#[test]
fn an_edited_journal_is_caught() {
    let (_dir, store) = store();
    let run = RunId::new();
    for step in ["a", "b", "c"] {
        store
            .journal_append(&run, &json!({"step": step}), &signer())
            .unwrap();
    }
    let path = journal_file(&store, &run);
    let text = fs::read_to_string(&path).unwrap();

    fs::write(&path, text.replacen("\"step\":\"b\"", "\"step\":\"x\"", 1)).unwrap();
    let error = store.journal_read(&run, &signer()).unwrap_err().to_string();
    assert!(error.contains("line 2") && error.contains("MAC"), "{error}");

    let lines: Vec<&str> = text.lines().collect();
    fs::write(&path, format!("{}\n{}\n", lines[0], lines[2])).unwrap(); // middle line removed
    let error = store.journal_read(&run, &signer()).unwrap_err().to_string();
    assert!(error.contains("line 2"), "{error}");

    // Another run's journal copied over this one.
    let other = RunId::new();
    store
        .journal_append(&other, &json!({"step": "a"}), &signer())
        .unwrap();
    fs::copy(journal_file(&store, &other), &path).unwrap();
    assert!(store.journal_read(&run, &signer()).is_err());

    fs::write(&path, format!("{}\nnot json\n", lines[0])).unwrap();
    let error = store.journal_read(&run, &signer()).unwrap_err().to_string();
    assert!(
        error.contains("line 2") && error.contains("not a JSON object"),
        "{error}"
    );
}

#[test]
fn a_torn_last_line_is_ignored_and_cut_before_the_next_append() {
    let (_dir, store) = store();
    let run = RunId::new();
    store
        .journal_append(&run, &json!({"step": "a"}), &signer())
        .unwrap();
    store
        .journal_append(&run, &json!({"step": "b"}), &signer())
        .unwrap();
    let path = journal_file(&store, &run);
    let text = fs::read_to_string(&path).unwrap();
    // A crash in the middle of the second write.
    fs::write(&path, &text[..text.len() - 10]).unwrap();
    let journal = store.journal_read(&run, &signer()).unwrap().unwrap();
    assert_eq!(journal.entries, [json!({"step": "a"})]);
    assert!(journal.torn_line_ignored);
    // Even a torn line that happens to be whole JSON only counts with its newline.
    fs::write(&path, &text[..text.len() - 1]).unwrap();
    assert!(
        store
            .journal_read(&run, &signer())
            .unwrap()
            .unwrap()
            .torn_line_ignored
    );

    store
        .journal_append(&run, &json!({"step": "c"}), &signer())
        .unwrap();
    let journal = store.journal_read(&run, &signer()).unwrap().unwrap();
    assert_eq!(
        journal.entries,
        [json!({"step": "a"}), json!({"step": "c"})]
    );
    assert!(!journal.torn_line_ignored);
}

#[test]
fn a_journal_written_with_another_secret_is_refused() {
    let (_dir, store) = store();
    let run = RunId::new();
    store
        .journal_append(&run, &json!({"step": "a"}), &signer())
        .unwrap();
    assert!(store.journal_read(&run, &other_signer()).is_err());
}

#[test]
fn verify_file_reports_unreadable_and_malformed_files() {
    let dir = tempfile::tempdir().unwrap();
    let missing = verify_file(&dir.path().join("nope.json"), &signer()).unwrap_err();
    assert!(missing[0].message.contains("cannot read"));
    let path: &Path = &dir.path().join(format!("{}.json", RunId::new()));
    fs::write(path, "{\n  \"run_id\": \n").unwrap();
    let malformed = verify_file(path, &signer()).unwrap_err();
    assert!(malformed[0].message.contains("line 3"), "{malformed:?}");
}
