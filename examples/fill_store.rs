//! Fills a directory receipt store with N signed, chained receipts of a filesystem run, for
//! the `verify` / `ls` benchmarks (`benches/pipeline.sh`). Usage:
//! `fill_store DIR N` with the signing secret in ENACT_SECRET.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use enact::receipt::{
    ActionRecord, Decision, DirectoryStore, Kind, PolicyRecord, RECEIPT_VERSION, Receipt,
    ReceiptStore, RunId, RunStatus, Secret, Signer,
};
use serde_json::json;

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args.next().expect("usage: fill_store DIR N");
    let count: usize = args
        .next()
        .expect("usage: fill_store DIR N")
        .parse()
        .unwrap();
    let secret = Secret::from_env("ENACT_SECRET", false).unwrap();
    let signer = Signer::new(&secret);
    let store = DirectoryStore::open(&dir).unwrap();
    let policies = [
        "filesystem.dont_read_env",
        "filesystem.dont_touch_ci_cd",
        "filesystem.dont_edit_gitignore",
        "filesystem.dont_access_home_dir",
        "filesystem.dont_copy_api_keys",
        "filesystem.block_extensions",
        "filesystem.restrict_paths",
        "access.dont_read_sensitive_paths",
        "git.dont_commit_api_keys",
        "prompt_injection.block_prompt_injection",
    ];
    for i in 0..count {
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let path = format!("notes/note-{i}.md");
        let receipt = Receipt {
            version: RECEIPT_VERSION,
            run_id: RunId::new().to_string(),
            kind: Kind::Run,
            original_run_id: None,
            workflow: "write_note".into(),
            workflow_sha256: "ab".repeat(32),
            policy_set_sha256: "cd".repeat(32),
            actor: json!({"email": "agent@example.com", "role": "agent", "attributes": {}}),
            payload: json!({"path": path, "content": "A note written by the benchmark.\n"}),
            policy_results: policies
                .iter()
                .map(|p| PolicyRecord {
                    policy: (*p).to_string(),
                    status: "PASS".into(),
                    level: "hard".into(),
                    stage: "run".into(),
                    reason: "nothing to object to".into(),
                    evidence: json!({"input.path": path}),
                    location: format!("builtin:{}.enact:3:3", p.split('.').next().unwrap()),
                })
                .collect(),
            decision: Decision::Pass,
            status: RunStatus::Succeeded,
            actions_taken: vec![ActionRecord {
                step: "write".into(),
                system: "files".into(),
                action: "write_file".into(),
                args: json!({"path": path, "content": "A note written by the benchmark.\n"}),
                success: true,
                output: json!({"path": path, "bytes": 33, "created": true}),
                error: None,
                already_done: json!(false),
                rollback_data: json!({"path": path, "existed": false}),
                started_at: now.clone(),
                duration_ms: 1,
            }],
            overrides: Vec::new(),
            error: None,
            insecure_secret: false,
            started_at: now.clone(),
            finished_at: now,
            sequence: 0,
            prev_sha256: String::new(),
            field_sha256: Default::default(),
            signature: String::new(),
        };
        store.append(receipt, &signer).unwrap();
    }
}
