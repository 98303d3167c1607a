//! The Slack and HubSpot connectors through the real binary and the real client code, against
//! local servers that keep state like the real APIs: posts and their rollback, DMs and
//! off-list channels blocked with nothing sent, Slack's `ok: false` answers as failed steps,
//! leads with a live duplicate lookup recorded in the receipt, the task limit counted from the
//! receipt history, lookups that fail or time out failing closed, and tokens that never leak.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::Run;
use common::hubspot_api::{HUBSPOT_TOKEN, HubspotApi, TASK_TO_CONTACT};
use common::project::{Project, run_id};
use common::slack_api::{SLACK_TOKEN, SlackApi};
use enact::connectors::http::HttpSettings;
use enact::connectors::{
    Connector, ConnectorError, HubspotConnector, SlackConnector, actions_of, connector_kinds,
};
use serde_json::{Value as Json, json};

// ---------------------------------------------------------------------------------------------
// Harness

/// The channels agents may post to in these projects: by id and by name.
const ALLOWED_CHANNELS: &str = "[C0123DEPLOY, deploy, C0456OPS, C0000GONE, D024BE91L]";

/// A project whose `slack` and `hubspot` systems point at the local servers, with the channel
/// allowlist applied to every workflow, a `files` system, and HubSpot's timeout short enough
/// for a delayed server to exceed it.
fn project(slack: &SlackApi, hubspot: &HubspotApi) -> Project {
    let p = Project::new();
    p.write(
        "enact.yaml",
        &format!(
            "receipts: ./receipts
policies:
  - use: slack.require_channel_allowlist
    with: {{ channels: {ALLOWED_CHANNELS} }}
systems:
  slack:
    connector: slack
    token_env: SLACK_BOT_TOKEN
    base_url: {}
    allowed_actions: [post_message, delete_message]
  hubspot:
    connector: hubspot
    token_env: HUBSPOT_TOKEN
    base_url: {}
    timeout: 500ms
    allowed_actions: [find_contact, create_contact, create_task]
  files:
    connector: filesystem
    base_dir: ./workspace
    allowed_actions: [read_file, write_file]
workflows: [./workflows]
",
            slack.url(),
            hubspot.url()
        ),
    );
    p.write("workflows/follow_up.yaml", FOLLOW_UP);
    p.write("workflows/add_contact.yaml", ADD_CONTACT);
    p
}

/// A task for an existing contact, under the task limit.
const FOLLOW_UP: &str = r#"
name: follow_up
description: Add a follow-up task to an existing contact.
inputs:
  contact_id: { type: string, required: true }
  subject: { type: string, default: "Call back" }
policies:
  - use: crm.limit_tasks_per_contact
steps:
  - id: task
    action: hubspot.create_task
    with: { contact_id: "${payload.contact_id}", subject: "${payload.subject}" }
outputs:
  task_id: "${steps.task.output.id}"
"#;

/// A contact without the duplicate policy: the connector's own idempotency decides.
const ADD_CONTACT: &str = r#"
name: add_contact
description: Create a contact unless it exists.
inputs:
  email: { type: string, required: true }
policies:
  - use: prompt_injection.block_prompt_injection
steps:
  - id: contact
    action: hubspot.create_contact
    with: { email: "${payload.email}", firstname: "Ada" }
outputs:
  contact_id: "${steps.contact.output.id}"
"#;

const TOKENS: [(&str, &str); 2] = [
    ("SLACK_BOT_TOKEN", SLACK_TOKEN),
    ("HUBSPOT_TOKEN", HUBSPOT_TOKEN),
];

/// `enact ARGS` in the project with both tokens set.
fn enact(p: &Project, args: &[&str]) -> Run {
    p.enact_with(args, &TOKENS)
}

/// `enact run WORKFLOW --payload PAYLOAD --json` with both tokens set.
fn run(p: &Project, workflow: &str, payload: Json) -> (Run, Json) {
    let out = enact(
        p,
        &["run", workflow, "--payload", &payload.to_string(), "--json"],
    );
    let document = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", out.stdout, out.stderr));
    (out, document)
}

/// The receipt's result of one policy (at run level unless `stage` says otherwise).
fn policy<'r>(receipt: &'r Json, id: &str, stage: &str) -> &'r Json {
    receipt["policy_results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["policy"] == id && r["stage"] == stage)
        .unwrap_or_else(|| panic!("no result of {id} at {stage} in {receipt:#}"))
}

/// Every file under the receipt store, as one text: what could leak, in one place.
fn store_text(p: &Project) -> String {
    let mut text = String::new();
    for entry in std::fs::read_dir(p.path("receipts")).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            text.push_str(&String::from_utf8_lossy(&std::fs::read(path).unwrap()));
        }
    }
    text
}

fn settings(base_url: &str, token: &str, timeout: Duration) -> HttpSettings {
    HttpSettings {
        base_url: Some(base_url.to_string()),
        token: token.to_string(),
        token_env: "THE_TOKEN".to_string(),
        timeout,
    }
}

fn journal() -> impl FnMut(&Json) -> Result<(), String> {
    |_| Ok(())
}

// ---------------------------------------------------------------------------------------------
// Slack through the binary

#[test]
fn a_post_is_rolled_back_by_deleting_it_by_the_returned_channel_id_and_ts() {
    let slack = SlackApi::start();
    let hubspot = HubspotApi::start();
    let p = project(&slack, &hubspot);
    // By name: Slack answers with the channel's id, and chat.delete accepts only ids.
    let (out, document) = run(
        &p,
        "post_slack_message",
        json!({"channel": "deploy", "text": "Deploy of 1.4.0 finished."}),
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let messages = slack.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].channel, "C0123DEPLOY");
    assert_eq!(messages[0].text, "Deploy of 1.4.0 finished.");
    assert_eq!(
        messages[0].thread_ts, None,
        "an empty thread_ts is no thread"
    );
    assert_eq!(document["run"]["outputs"]["channel"], "C0123DEPLOY");
    assert_eq!(document["run"]["outputs"]["ts"], messages[0].ts.as_str());

    let id = run_id(&out);
    let receipt = p.receipt(&id);
    assert_eq!(receipt["decision"], "PASS");
    let action = &receipt["actions_taken"][0];
    assert_eq!(action["system"], "slack");
    assert_eq!(action["action"], "post_message");
    assert_eq!(action["output"]["channel"], "C0123DEPLOY");
    assert_eq!(action["output"]["ts"], messages[0].ts.as_str());
    assert_eq!(action["already_done"], false);
    assert_eq!(policy(&receipt, "slack.block_dms", "run")["status"], "PASS");
    assert_eq!(
        policy(&receipt, "slack.require_channel_allowlist", "step:post")["status"],
        "PASS"
    );

    let rollback = enact(&p, &["rollback", &id, "--json"]);
    assert_eq!(rollback.code, 0, "{}{}", rollback.stdout, rollback.stderr);
    assert!(slack.messages().is_empty(), "the posted message is gone");
    assert_eq!(slack.calls(), ["chat.postMessage", "chat.delete"]);
    assert_eq!(
        slack.bodies()[1],
        json!({"channel": "C0123DEPLOY", "ts": messages[0].ts})
    );
    let rollback_receipt = p.receipt(&run_id(&rollback));
    assert_eq!(rollback_receipt["decision"], "ROLLED_BACK");
    assert_eq!(
        rollback_receipt["actions_taken"][0]["action"],
        "delete_posted_message"
    );
    assert_eq!(enact(&p, &["verify"]).code, 0);
    let again = enact(&p, &["rollback", &id]);
    assert_eq!(again.code, 2, "rolling back twice is refused");
}

#[test]
fn a_reply_goes_into_its_thread_and_a_message_deleted_by_hand_counts_as_rolled_back() {
    let slack = SlackApi::start();
    let hubspot = HubspotApi::start();
    let p = project(&slack, &hubspot);
    let (first, _) = run(
        &p,
        "post_slack_message",
        json!({"channel": "C0123DEPLOY", "text": "Starting the deploy."}),
    );
    assert_eq!(first.code, 0, "{}", first.stderr);
    let parent = slack.messages()[0].ts.clone();
    let (reply, _) = run(
        &p,
        "post_slack_message",
        json!({"channel": "C0123DEPLOY", "text": "Done.", "thread_ts": parent}),
    );
    assert_eq!(reply.code, 0, "{}", reply.stderr);
    let messages = slack.messages();
    assert_eq!(messages[1].thread_ts.as_deref(), Some(parent.as_str()));

    slack.delete_by_hand(&messages[1].ts);
    let rollback = enact(&p, &["rollback", &run_id(&reply), "--json"]);
    assert_eq!(rollback.code, 0, "{}{}", rollback.stdout, rollback.stderr);
    let receipt = p.receipt(&run_id(&rollback));
    assert_eq!(receipt["decision"], "ROLLED_BACK");
    assert_eq!(receipt["actions_taken"][0]["already_done"], "absent");
    assert_eq!(slack.messages().len(), 1, "the parent stays");

    let (missing, document) = run(
        &p,
        "post_slack_message",
        json!({"channel": "C0123DEPLOY", "text": "Late reply.", "thread_ts": "1.000000"}),
    );
    assert_eq!(missing.code, 4);
    assert!(
        document["run"]["error"]
            .as_str()
            .unwrap()
            .contains("thread_not_found"),
        "{document:#}"
    );
}

#[test]
fn a_direct_message_is_blocked_and_nothing_is_sent() {
    let slack = SlackApi::start();
    let hubspot = HubspotApi::start();
    let p = project(&slack, &hubspot);
    // D024BE91L is even on the allowlist: block_dms alone must stop it.
    let (out, _) = run(
        &p,
        "post_slack_message",
        json!({"channel": "D024BE91L", "text": "psst"}),
    );
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    let receipt = p.receipt(&run_id(&out));
    assert_eq!(receipt["decision"], "BLOCK");
    assert_eq!(receipt["status"], "NOT_RUN");
    let dms = policy(&receipt, "slack.block_dms", "run");
    assert_eq!(dms["status"], "BLOCK");
    assert!(
        dms["reason"]
            .as_str()
            .unwrap()
            .contains("Direct messages are blocked (channel 'D024BE91L')"),
        "{dms}"
    );
    for user in ["U02ABCDEF", "W012A3CDE"] {
        let (out, _) = run(
            &p,
            "post_slack_message",
            json!({"channel": user, "text": "psst"}),
        );
        assert_eq!(out.code, 3, "{user}");
    }
    assert!(slack.calls().is_empty(), "nothing was sent to Slack");
    assert!(slack.messages().is_empty());
}

#[test]
fn a_channel_off_the_allowlist_is_blocked_and_nothing_is_sent() {
    let slack = SlackApi::start();
    let hubspot = HubspotApi::start();
    let p = project(&slack, &hubspot);
    let (out, _) = run(
        &p,
        "post_slack_message",
        json!({"channel": "C0999RANDOM", "text": "hello all"}),
    );
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    let receipt = p.receipt(&run_id(&out));
    let allowlist = policy(&receipt, "slack.require_channel_allowlist", "run");
    assert_eq!(allowlist["status"], "BLOCK");
    assert!(
        allowlist["reason"]
            .as_str()
            .unwrap()
            .contains("Channel 'C0999RANDOM' is not on the allowlist")
    );
    // Another spelling of an allowed channel is not allowed: the list is compared exactly.
    let (spelled, _) = run(
        &p,
        "post_slack_message",
        json!({"channel": "#deploy", "text": "hello"}),
    );
    assert_eq!(spelled.code, 3);
    assert!(slack.calls().is_empty(), "nothing was sent to Slack");
}

#[test]
fn slack_refusals_become_failed_steps_that_name_the_fix() {
    let slack = SlackApi::start();
    let hubspot = HubspotApi::start();
    let p = project(&slack, &hubspot);
    let error_of = |out: &Run, document: &Json| {
        assert_eq!(out.code, 4, "{}{}", out.stdout, out.stderr);
        document["run"]["actions_taken"][0]["error"]
            .as_str()
            .unwrap()
            .to_string()
    };

    let (out, document) = run(
        &p,
        "post_slack_message",
        json!({"channel": "C0456OPS", "text": "hi"}),
    );
    let error = error_of(&out, &document);
    assert!(error.contains("`not_in_channel`"), "{error}");
    assert!(error.contains("/invite"), "{error}");

    slack.set_scopes(&["channels:read"]);
    let (out, document) = run(
        &p,
        "post_slack_message",
        json!({"channel": "C0123DEPLOY", "text": "hi"}),
    );
    let error = error_of(&out, &document);
    assert!(error.contains("`missing_scope`"), "{error}");
    assert!(
        error.contains("lacks the scope `chat:write` (it has: channels:read)"),
        "{error}"
    );
    slack.set_scopes(&["chat:write"]);

    slack.set_rate_limited(Some(30));
    let (out, document) = run(
        &p,
        "post_slack_message",
        json!({"channel": "C0123DEPLOY", "text": "hi"}),
    );
    let error = error_of(&out, &document);
    assert!(error.contains("rate-limited"), "{error}");
    assert!(error.contains("retry after 30 s"), "{error}");
    slack.set_rate_limited(None);

    let out = p.enact_with(
        &[
            "run",
            "post_slack_message",
            "--payload",
            r#"{"channel": "C0123DEPLOY", "text": "hi"}"#,
            "--json",
        ],
        &[(
            "SLACK_BOT_TOKEN",
            "xoxb-1111111111-2222222222-revokedrevokedrevoked",
        )],
    );
    let document: Json = serde_json::from_str(&out.stdout).unwrap();
    let error = error_of(&out, &document);
    assert!(error.contains("`invalid_auth`"), "{error}");
    assert!(error.contains("`SLACK_BOT_TOKEN`"), "{error}");
    assert!(!out.stdout.contains("revokedrevoked") && !out.stderr.contains("revokedrevoked"));

    let (out, document) = run(
        &p,
        "post_slack_message",
        json!({"channel": "C0000GONE", "text": "hi"}),
    );
    let error = error_of(&out, &document);
    assert!(error.contains("`channel_not_found`"), "{error}");
    assert!(error.contains("use the channel's id"), "{error}");

    assert!(slack.messages().is_empty(), "no refusal posted anything");
    assert_eq!(enact(&p, &["verify"]).code, 0);
}

#[test]
fn a_missing_slack_token_stops_the_run_before_anything_runs() {
    let slack = SlackApi::start();
    let hubspot = HubspotApi::start();
    let p = project(&slack, &hubspot);
    let out = p.enact_with(
        &[
            "run",
            "post_slack_message",
            "--payload",
            r#"{"channel": "C0123DEPLOY", "text": "hi"}"#,
        ],
        &[("SLACK_BOT_TOKEN", "")],
    );
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("`SLACK_BOT_TOKEN`"), "{}", out.stderr);
    assert!(slack.calls().is_empty());
}

#[test]
fn a_token_with_a_line_break_is_refused_naming_its_variable_and_nothing_is_sent() {
    // What a `.env` file saved with Windows line ends gives.
    let slack = SlackApi::start();
    let hubspot = HubspotApi::start();
    let p = project(&slack, &hubspot);
    let out = p.enact_with(
        &[
            "run",
            "post_slack_message",
            "--payload",
            r#"{"channel": "C0123DEPLOY", "text": "hi"}"#,
            "--json",
        ],
        &[("SLACK_BOT_TOKEN", &format!("{SLACK_TOKEN}\r"))],
    );
    assert_eq!(out.code, 4, "{}{}", out.stdout, out.stderr);
    let document: Json = serde_json::from_str(&out.stdout).unwrap();
    let error = document["run"]["actions_taken"][0]["error"]
        .as_str()
        .unwrap();
    assert!(
        error.starts_with("system `slack` (slack): the Slack token in `SLACK_BOT_TOKEN` holds"),
        "{error}"
    );
    assert!(
        !error.contains("may or may not"),
        "nothing was sent: {error}"
    );
    assert!(!out.stdout.contains(SLACK_TOKEN) && !out.stderr.contains(SLACK_TOKEN));
    assert!(slack.calls().is_empty());
}

#[test]
fn deleting_a_message_is_irreversible_and_rollback_says_what_to_do_by_hand() {
    let slack = SlackApi::start();
    let hubspot = HubspotApi::start();
    let p = project(&slack, &hubspot);
    p.write(
        "workflows/unpost.yaml",
        r#"
name: unpost
description: Delete a message the app posted.
inputs:
  channel: { type: string, required: true }
  ts: { type: string, required: true }
policies:
  - use: slack.block_dms
steps:
  - id: delete
    action: slack.delete_message
    with: { channel: "${payload.channel}", ts: "${payload.ts}" }
"#,
    );
    let (posted, _) = run(
        &p,
        "post_slack_message",
        json!({"channel": "C0123DEPLOY", "text": "oops"}),
    );
    assert_eq!(posted.code, 0);
    let ts = slack.messages()[0].ts.clone();

    let (deleted, _) = run(&p, "unpost", json!({"channel": "C0123DEPLOY", "ts": ts}));
    assert_eq!(deleted.code, 0, "{}{}", deleted.stdout, deleted.stderr);
    assert!(slack.messages().is_empty());
    let (again, document) = run(&p, "unpost", json!({"channel": "C0123DEPLOY", "ts": ts}));
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(
        document["run"]["actions_taken"][0]["already_done"],
        "absent"
    );

    let rollback = enact(&p, &["rollback", &run_id(&deleted), "--json"]);
    assert_eq!(rollback.code, 4, "{}{}", rollback.stdout, rollback.stderr);
    let receipt = p.receipt(&run_id(&rollback));
    assert_eq!(receipt["decision"], "PARTIAL");
    assert!(
        receipt["actions_taken"][0]["error"]
            .as_str()
            .unwrap()
            .contains("Slack cannot bring a deleted message back"),
        "{receipt:#}"
    );

    // A person's message: the bot token may not delete it.
    let theirs = slack.add_message_by_someone("C0123DEPLOY", "mine");
    let (refused, document) = run(
        &p,
        "unpost",
        json!({"channel": "C0123DEPLOY", "ts": theirs}),
    );
    assert_eq!(refused.code, 4);
    assert!(
        document["run"]["error"]
            .as_str()
            .unwrap()
            .contains("`cant_delete_message`")
    );
    assert_eq!(slack.messages().len(), 1);
}

#[test]
fn a_dry_run_shows_the_rollback_plan_and_sends_nothing() {
    let slack = SlackApi::start();
    let hubspot = HubspotApi::start();
    let p = project(&slack, &hubspot);
    let out = enact(
        &p,
        &[
            "run",
            "post_slack_message",
            "--dry-run",
            "--payload",
            r#"{"channel": "C0123DEPLOY", "text": "hi"}"#,
        ],
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("rollback: delete_posted_message: delete the message by the `ts`"),
        "{}",
        out.stdout
    );
    assert!(slack.calls().is_empty());
    let builtins = common::repo().join("workflows");
    let check = enact(
        &p,
        &[
            "check",
            builtins.join("post_slack_message.yaml").to_str().unwrap(),
            builtins.join("new_lead.yaml").to_str().unwrap(),
            "workflows/follow_up.yaml",
        ],
    );
    assert_eq!(check.code, 0, "{}{}", check.stdout, check.stderr);
}

// ---------------------------------------------------------------------------------------------
// HubSpot through the binary

#[test]
fn a_new_lead_creates_a_contact_and_an_associated_task_and_rollback_deletes_both() {
    let slack = SlackApi::start();
    let hubspot = HubspotApi::start();
    let p = project(&slack, &hubspot);
    let (out, document) = run(
        &p,
        "new_lead",
        json!({"email": "grace@example.com", "firstname": "Grace", "lastname": "Hopper",
               "due": "2026-06-01"}),
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let searches = hubspot
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/contacts/search"))
        .count();
    assert_eq!(
        searches, 2,
        "the policy's lookup is asked once per run (run level and before the step), \
         the connector's own idempotency check once"
    );
    let contacts = hubspot.contacts();
    assert_eq!(contacts.len(), 1);
    let contact = &contacts[0];
    assert_eq!(contact.properties["email"], "grace@example.com");
    assert_eq!(contact.properties["firstname"], "Grace");
    assert_eq!(contact.properties["lastname"], "Hopper");
    assert!(
        !contact.properties.contains_key("company"),
        "empty fields are left out"
    );
    let tasks = hubspot.tasks();
    assert_eq!(tasks.len(), 1);
    assert_eq!(
        tasks[0].associations,
        [(contact.id.clone(), TASK_TO_CONTACT)]
    );
    assert_eq!(
        tasks[0].properties["hs_task_subject"],
        "Follow up with grace@example.com"
    );
    assert_eq!(
        tasks[0].properties["hs_timestamp"],
        "2026-06-01T00:00:00.000Z"
    );
    assert_eq!(
        document["run"]["outputs"]["contact_id"],
        contact.id.as_str()
    );
    assert_eq!(document["run"]["outputs"]["task_id"], tasks[0].id.as_str());

    let id = run_id(&out);
    let receipt = p.receipt(&id);
    let duplicate = policy(&receipt, "crm.dont_duplicate_contacts", "run");
    assert_eq!(duplicate["status"], "PASS");
    assert_eq!(
        duplicate["evidence"]["lookup hubspot.find_contact"],
        json!({"args": {"email": "grace@example.com"}, "answer": []})
    );
    let limit = policy(&receipt, "crm.limit_tasks_per_contact", "step:task");
    assert!(
        limit["reason"]
            .as_str()
            .unwrap()
            .contains("got 0 tasks in the last 7d")
    );

    let rollback = enact(&p, &["rollback", &id, "--json"]);
    assert_eq!(rollback.code, 0, "{}{}", rollback.stdout, rollback.stderr);
    assert!(hubspot.tasks().is_empty());
    assert!(hubspot.contacts().is_empty());
    let undone = p.receipt(&run_id(&rollback));
    let order: Vec<&str> = undone["actions_taken"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(order, ["delete_created_task", "delete_created_contact"]);
    let deletes: Vec<String> = hubspot
        .writes()
        .iter()
        .filter(|r| r.method == "DELETE")
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(
        deletes,
        [
            format!("/crm/v3/objects/tasks/{}", tasks[0].id),
            format!("/crm/v3/objects/contacts/{}", contact.id)
        ]
    );
    assert_eq!(enact(&p, &["verify"]).code, 0);
}

#[test]
fn a_duplicate_contact_is_blocked_with_the_lookup_result_in_the_receipt() {
    let slack = SlackApi::start();
    let hubspot = HubspotApi::start();
    let p = project(&slack, &hubspot);
    let existing = hubspot.add_contact("ada@example.com", "Ada");
    let (out, _) = run(&p, "new_lead", json!({"email": "Ada@Example.com"}));
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    let receipt = p.receipt(&run_id(&out));
    assert_eq!(receipt["decision"], "BLOCK");
    assert_eq!(receipt["status"], "NOT_RUN");
    let duplicate = policy(&receipt, "crm.dont_duplicate_contacts", "run");
    assert_eq!(duplicate["status"], "BLOCK");
    assert_eq!(
        duplicate["reason"],
        "Contact 'Ada@Example.com' already exists in hubspot"
    );
    let lookup = &duplicate["evidence"]["lookup hubspot.find_contact"];
    assert_eq!(lookup["args"], json!({"email": "Ada@Example.com"}));
    assert_eq!(lookup["answer"][0]["id"], existing.as_str());
    assert_eq!(lookup["answer"][0]["email"], "ada@example.com");
    assert_eq!(lookup["answer"][0]["firstname"], "Ada");
    assert!(
        hubspot.writes().is_empty(),
        "nothing but the lookup was sent"
    );
    assert_eq!(hubspot.requests().len(), 1);
    assert_eq!(hubspot.contacts().len(), 1);
    assert!(hubspot.tasks().is_empty());
    assert_eq!(enact(&p, &["verify"]).code, 0);
}

#[test]
fn the_fourth_task_for_a_contact_within_the_window_is_blocked() {
    let slack = SlackApi::start();
    let hubspot = HubspotApi::start();
    let p = project(&slack, &hubspot);
    let (lead, document) = run(&p, "new_lead", json!({"email": "lin@example.com"}));
    assert_eq!(lead.code, 0, "{}{}", lead.stdout, lead.stderr);
    let contact = document["run"]["outputs"]["contact_id"]
        .as_str()
        .unwrap()
        .to_string();
    for n in 2..=3 {
        let (out, _) = run(
            &p,
            "follow_up",
            json!({"contact_id": contact, "subject": format!("Call {n}")}),
        );
        assert_eq!(out.code, 0, "task {n}: {}{}", out.stdout, out.stderr);
    }
    assert_eq!(hubspot.tasks().len(), 3);
    let posts_before = hubspot.writes().len();

    let (fourth, _) = run(&p, "follow_up", json!({"contact_id": contact}));
    assert_eq!(fourth.code, 3, "{}{}", fourth.stdout, fourth.stderr);
    let receipt = p.receipt(&run_id(&fourth));
    assert_eq!(receipt["decision"], "BLOCK");
    assert_eq!(receipt["status"], "NOT_RUN");
    // The payload names the contact, so the limit already holds at run level.
    let limit = policy(&receipt, "crm.limit_tasks_per_contact", "run");
    assert_eq!(limit["status"], "BLOCK");
    assert_eq!(
        limit["reason"],
        format!("Contact '{contact}' already got 3 tasks in the last 7d (limit 3)")
    );
    assert_eq!(hubspot.tasks().len(), 3, "no fourth task");
    assert_eq!(hubspot.writes().len(), posts_before, "nothing was sent");

    // Another contact is not limited by this one's tasks.
    let other = hubspot.add_contact("bo@example.com", "Bo");
    let (out, _) = run(&p, "follow_up", json!({"contact_id": other}));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(enact(&p, &["verify"]).code, 0);
}

#[test]
fn a_lookup_that_times_out_makes_the_policy_error_and_the_run_block() {
    let slack = SlackApi::start();
    let hubspot = HubspotApi::start();
    let p = project(&slack, &hubspot);
    hubspot.set_delay(Some(Duration::from_secs(3)));
    let (out, _) = run(&p, "new_lead", json!({"email": "slow@example.com"}));
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    let receipt = p.receipt(&run_id(&out));
    assert_eq!(receipt["decision"], "BLOCK");
    let duplicate = policy(&receipt, "crm.dont_duplicate_contacts", "run");
    assert_eq!(duplicate["status"], "ERROR");
    let reason = duplicate["reason"].as_str().unwrap();
    assert!(
        reason.contains("lookup hubspot.find_contact failed: HubSpot POST /crm/v3/objects/contacts/search: no answer within 500ms"),
        "{reason}"
    );
    assert_eq!(
        duplicate["evidence"]["lookup hubspot.find_contact"]["args"],
        json!({"email": "slow@example.com"})
    );
    assert!(hubspot.writes().is_empty(), "no contact was created");
}

#[test]
fn a_lookup_that_fails_makes_the_policy_error_and_the_run_block() {
    let slack = SlackApi::start();
    let hubspot = HubspotApi::start();
    let p = project(&slack, &hubspot);
    let reason_of = |out: &Run| {
        assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
        let receipt = p.receipt(&run_id(out));
        let duplicate = policy(&receipt, "crm.dont_duplicate_contacts", "run").clone();
        assert_eq!(duplicate["status"], "ERROR", "{duplicate}");
        duplicate["reason"].as_str().unwrap().to_string()
    };

    hubspot.set_failing(true);
    let (out, _) = run(&p, "new_lead", json!({"email": "a@example.com"}));
    let reason = reason_of(&out);
    assert!(
        reason.contains("lookup hubspot.find_contact failed"),
        "{reason}"
    );
    assert!(reason.contains("HTTP 500"), "{reason}");
    hubspot.set_failing(false);

    let out = p.enact_with(
        &[
            "run",
            "new_lead",
            "--payload",
            r#"{"email": "a@example.com"}"#,
            "--json",
        ],
        &[(
            "HUBSPOT_TOKEN",
            "pat-na1-00000000-0000-0000-0000-000000000000",
        )],
    );
    let reason = reason_of(&out);
    assert!(reason.contains("HTTP 401"), "{reason}");
    assert!(reason.contains("`HUBSPOT_TOKEN`"), "{reason}");

    hubspot.set_scopes(&["crm.objects.contacts.write"]);
    let (out, _) = run(&p, "new_lead", json!({"email": "a@example.com"}));
    let reason = reason_of(&out);
    assert!(reason.contains("crm.objects.contacts.read"), "{reason}");
    hubspot.set_scopes(&["crm.objects.contacts.read", "crm.objects.contacts.write"]);

    hubspot.set_rate_limited(true);
    let (out, _) = run(&p, "new_lead", json!({"email": "a@example.com"}));
    let reason = reason_of(&out);
    assert!(reason.contains("rate-limited"), "{reason}");
    assert!(reason.contains("SECONDLY"), "{reason}");
    hubspot.set_rate_limited(false);

    assert!(
        hubspot.writes().is_empty(),
        "no failing lookup let anything through"
    );
    assert!(hubspot.contacts().is_empty());
}

#[test]
fn a_lookup_on_an_unreachable_or_unconfigured_crm_fails_closed() {
    let slack = SlackApi::start();
    let hubspot = HubspotApi::start();
    let p = project(&slack, &hubspot);
    // A workflow that writes a file but guards it with the CRM lookup: its token is unset.
    p.write(
        "workflows/note_lead.yaml",
        r#"
name: note_lead
description: Note a lead in a file unless the CRM has it.
inputs:
  email: { type: string, required: true }
policies:
  - use: crm.dont_duplicate_contacts
steps:
  - id: note
    action: files.write_file
    with: { path: "lead.txt", content: "${payload.email}" }
"#,
    );
    let out = p.enact_with(
        &[
            "run",
            "note_lead",
            "--payload",
            r#"{"email": "a@example.com"}"#,
            "--json",
        ],
        &[("HUBSPOT_TOKEN", "")],
    );
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    let receipt = p.receipt(&run_id(&out));
    let duplicate = policy(&receipt, "crm.dont_duplicate_contacts", "run");
    assert_eq!(duplicate["status"], "ERROR");
    assert!(
        duplicate["reason"]
            .as_str()
            .unwrap()
            .contains("`HUBSPOT_TOKEN`, which is not set"),
        "{duplicate}"
    );
    assert!(!p.path("workspace/lead.txt").exists());

    // The server gone: nobody answers.
    let url = hubspot.url();
    drop(hubspot);
    let (out, _) = run(&p, "note_lead", json!({"email": "a@example.com"}));
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    let receipt = p.receipt(&run_id(&out));
    let reason = policy(&receipt, "crm.dont_duplicate_contacts", "run")["reason"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        reason.contains(&format!("cannot reach `{url}`")),
        "{reason}"
    );
    assert!(!p.path("workspace/lead.txt").exists());
}

#[test]
fn an_existing_contact_is_never_created_twice_nor_deleted_by_rollback() {
    let slack = SlackApi::start();
    let hubspot = HubspotApi::start();
    let p = project(&slack, &hubspot);
    let existing = hubspot.add_contact("ada@example.com", "Ada");
    let (out, document) = run(&p, "add_contact", json!({"email": "ada@example.com"}));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let action = &document["run"]["actions_taken"][0];
    assert_eq!(action["already_done"], "exists");
    assert_eq!(action["output"]["id"], existing.as_str());
    assert_eq!(action["output"]["created"], false);
    assert!(hubspot.writes().is_empty(), "no create was sent");
    let rollback = enact(&p, &["rollback", &run_id(&out)]);
    assert_eq!(rollback.code, 2, "{}{}", rollback.stdout, rollback.stderr);
    assert!(
        rollback.stderr.contains("nothing to roll back"),
        "{}",
        rollback.stderr
    );
    assert_eq!(hubspot.contacts().len(), 1);
}

#[test]
fn a_contact_created_by_someone_else_after_the_search_exists_and_is_not_deleted() {
    let slack = SlackApi::start();
    let hubspot = HubspotApi::start();
    let p = project(&slack, &hubspot);
    hubspot.create_after_next_search("grace@example.com", "Grace");
    let (out, document) = run(&p, "add_contact", json!({"email": "grace@example.com"}));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let theirs = hubspot.contacts();
    assert_eq!(theirs.len(), 1);
    let writes: Vec<String> = hubspot
        .writes()
        .iter()
        .map(|w| format!("{} {}", w.method, w.path))
        .collect();
    assert_eq!(
        writes,
        ["POST /crm/v3/objects/contacts"],
        "HubSpot answered 409"
    );
    let action = &document["run"]["actions_taken"][0];
    assert_eq!(action["already_done"], "exists");
    assert_eq!(action["output"]["id"], theirs[0].id.as_str());
    assert_eq!(action["output"]["created"], false);
    assert_eq!(
        action["rollback_data"],
        json!({"email": "grace@example.com"})
    );
    let rollback = enact(&p, &["rollback", &run_id(&out)]);
    assert_eq!(rollback.code, 2, "{}{}", rollback.stdout, rollback.stderr);
    assert!(
        rollback.stderr.contains("nothing to roll back"),
        "{}",
        rollback.stderr
    );
    assert_eq!(hubspot.contacts(), theirs);
}

#[test]
fn hubspot_refusals_become_failed_steps_that_name_the_fix() {
    let slack = SlackApi::start();
    let hubspot = HubspotApi::start();
    let p = project(&slack, &hubspot);
    let (out, document) = run(&p, "follow_up", json!({"contact_id": "999"}));
    assert_eq!(out.code, 4, "{}{}", out.stdout, out.stderr);
    let error = document["run"]["error"].as_str().unwrap();
    assert!(
        error.contains("HubSpot has no contact `999`, so no task was created"),
        "{error}"
    );

    let (out, document) = run(&p, "follow_up", json!({"contact_id": "../contacts/1"}));
    assert_eq!(out.code, 4);
    assert!(
        document["run"]["error"]
            .as_str()
            .unwrap()
            .contains("must be a HubSpot id")
    );
    assert!(hubspot.writes().is_empty());

    let contact = hubspot.add_contact("ada@example.com", "Ada");
    hubspot.set_scopes(&["crm.objects.contacts.read"]);
    let (out, document) = run(&p, "follow_up", json!({"contact_id": contact}));
    assert_eq!(out.code, 4);
    let error = document["run"]["error"].as_str().unwrap();
    assert!(error.contains("HTTP 403 MISSING_SCOPES"), "{error}");
    assert!(
        error.contains("needs the scope crm.objects.contacts.write"),
        "{error}"
    );
    assert!(hubspot.tasks().is_empty());
}

#[test]
fn tokens_never_reach_a_receipt_an_output_or_a_message() {
    let slack = SlackApi::start();
    let hubspot = HubspotApi::start();
    let p = project(&slack, &hubspot);
    let mut printed = String::new();
    for (workflow, payload) in [
        (
            "post_slack_message",
            json!({"channel": "deploy", "text": "hi"}),
        ),
        (
            "post_slack_message",
            json!({"channel": "D024BE91L", "text": "hi"}),
        ),
        ("new_lead", json!({"email": "ada@example.com"})),
        ("new_lead", json!({"email": "ada@example.com"})),
    ] {
        let (out, _) = run(&p, workflow, payload);
        printed.push_str(&out.stdout);
        printed.push_str(&out.stderr);
    }
    hubspot.set_delay(Some(Duration::from_secs(2)));
    let (out, _) = run(&p, "new_lead", json!({"email": "bo@example.com"}));
    printed.push_str(&out.stdout);
    printed.push_str(&out.stderr);
    let stored = store_text(&p);
    assert!(
        stored.contains("lookup hubspot.find_contact"),
        "the store is what we think"
    );
    for token in [SLACK_TOKEN, HUBSPOT_TOKEN] {
        assert!(!stored.contains(token), "a token reached the receipt store");
        assert!(!printed.contains(token), "a token was printed");
    }
}

// ---------------------------------------------------------------------------------------------
// email.no_repeat_emails over the real receipt history

#[test]
fn a_second_email_to_the_same_address_within_the_window_is_blocked() {
    let slack = SlackApi::start();
    let hubspot = HubspotApi::start();
    let p = project(&slack, &hubspot);
    // An outbox file stands in for a mail system: the policy reads only the receipts.
    p.write(
        "workflows/send_email.yaml",
        r#"
name: send_email
description: Queue an email in the outbox.
inputs:
  to: { type: string, required: true }
  body: { type: string, required: true }
policies:
  - use: email.no_repeat_emails
  - use: email.no_mass_emails
steps:
  - id: queue
    action: files.write_file
    with: { path: "outbox-${payload.body}.txt", content: "${payload.to}" }
"#,
    );
    let (first, _) = run(
        &p,
        "send_email",
        json!({"to": "ada@example.com", "body": "1"}),
    );
    assert_eq!(first.code, 0, "{}{}", first.stdout, first.stderr);
    let (other, _) = run(
        &p,
        "send_email",
        json!({"to": "bo@example.com", "body": "2"}),
    );
    assert_eq!(other.code, 0, "another address is fine");
    let (repeat, _) = run(
        &p,
        "send_email",
        json!({"to": "ADA@example.com", "body": "3"}),
    );
    assert_eq!(repeat.code, 3, "{}{}", repeat.stdout, repeat.stderr);
    let receipt = p.receipt(&run_id(&repeat));
    let result = policy(&receipt, "email.no_repeat_emails", "run");
    assert_eq!(result["status"], "BLOCK");
    assert!(
        result["reason"]
            .as_str()
            .unwrap()
            .contains("'ADA@example.com' already got an email from send_email in the last 1d"),
        "{result}"
    );
    assert!(!p.path("workspace/outbox-3.txt").exists());
}

// ---------------------------------------------------------------------------------------------
// Configuration

#[test]
fn the_timeout_and_base_url_keys_are_judged_when_the_config_loads() {
    let p = Project::new();
    p.write(
        "post.yaml",
        "name: post\ndescription: Post.\nsteps:\n  - id: post\n    action: chat.post_message\n    with: { channel: C1, text: hi }\n",
    );
    let config = |system: &str| {
        p.write(
            "enact.yaml",
            &format!("systems:\n{system}\nworkflows: [./workflows]\n"),
        );
        enact(&p, &["check", "post.yaml"])
    };
    let bad = config(
        "  crm: { connector: hubspot, token_env: T, timeout: soon, allowed_actions: [find_contact] }",
    );
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr
            .contains("`timeout: soon` is not a positive duration"),
        "{}",
        bad.stderr
    );
    let zero = config(
        "  crm: { connector: hubspot, token_env: T, timeout: 0s, allowed_actions: [find_contact] }",
    );
    assert_eq!(zero.code, 2, "{}", zero.stderr);
    assert!(
        zero.stderr
            .contains("`timeout: 0s` is not a positive duration"),
        "{}",
        zero.stderr
    );
    let files = config(
        "  files: { connector: filesystem, base_dir: ., timeout: 5s, allowed_actions: [read_file] }",
    );
    assert_eq!(files.code, 2);
    assert!(
        files.stderr.contains("takes no `timeout`"),
        "{}",
        files.stderr
    );
    let good = config(
        "  chat: { connector: slack, token_env: T, timeout: 1m30s, allowed_actions: [post_message] }",
    );
    assert_eq!(good.code, 0, "{}{}", good.stdout, good.stderr);
    let plain = config(
        "  chat: { connector: slack, token_env: T, base_url: 'http://slack.example.com/api', allowed_actions: [post_message] }",
    );
    assert_eq!(
        plain.code, 2,
        "the base URL is judged when the config loads"
    );
    assert!(
        plain
            .stderr
            .contains("system `chat` (slack connector): `base_url` `http://slack.example.com/api` is plain http"),
        "{}",
        plain.stderr
    );
    assert!(plain.stderr.contains("clear text"), "{}", plain.stderr);
}

// ---------------------------------------------------------------------------------------------
// The connectors through the library

#[test]
fn both_kinds_are_registered_with_their_action_tables() {
    assert!(connector_kinds().contains(&"slack"));
    assert!(connector_kinds().contains(&"hubspot"));
    let names = |kind| -> Vec<&str> { actions_of(kind).unwrap().iter().map(|a| a.name).collect() };
    assert_eq!(names("slack"), ["post_message", "delete_message"]);
    assert_eq!(
        names("hubspot"),
        ["find_contact", "create_contact", "create_task"]
    );
    let post = &actions_of("slack").unwrap()[0];
    assert!(post.description.contains("Not idempotent"));
}

#[test]
fn the_hubspot_lookup_answers_a_list_and_refuses_what_is_not_a_query() {
    let hubspot = HubspotApi::start();
    let crm = HubspotConnector::new(settings(
        &hubspot.url(),
        HUBSPOT_TOKEN,
        Duration::from_secs(5),
    ))
    .unwrap();
    assert_eq!(
        crm.lookup("find_contact", &json!({"email": "nobody@example.com"}))
            .unwrap(),
        json!([])
    );
    let id = hubspot.add_contact("ada@example.com", "Ada");
    let answer = crm
        .lookup("find_contact", &json!({"email": "ADA@example.com"}))
        .unwrap();
    assert_eq!(answer.as_array().unwrap().len(), 1);
    assert_eq!(answer[0]["id"], id.as_str());

    let Err(ConnectorError::UnknownAction { hint, .. }) =
        crm.lookup("create_contact", &json!({"email": "x@example.com"}))
    else {
        panic!("a mutating action answers no lookup");
    };
    assert!(hint.contains("only read-only queries"), "{hint}");
    assert!(crm.lookup("find_contact", &json!({"mail": "x"})).is_err());
    assert!(crm.lookup("find_contacts", &json!({"email": "x"})).is_err());
    assert_eq!(hubspot.contacts().len(), 1, "lookups changed nothing");

    let found = crm
        .execute(
            "find_contact",
            &json!({"email": "ada@example.com"}),
            &mut journal(),
        )
        .unwrap();
    assert_eq!(found.output["count"], 1);
    assert_eq!(found.output["contacts"][0]["firstname"], "Ada");
}

#[test]
fn an_interrupted_create_is_undone_only_when_it_is_safe() {
    let hubspot = HubspotApi::start();
    let crm = HubspotConnector::new(settings(
        &hubspot.url(),
        HUBSPOT_TOKEN,
        Duration::from_secs(5),
    ))
    .unwrap();
    let args = json!({"email": "eve@example.com"});
    let data = json!({"email": "eve@example.com"});
    // Never created: nothing to undo.
    let undone = crm
        .undo("create_contact", &args, &Json::Null, &data)
        .unwrap();
    assert_eq!(undone.already_done, Some("absent"));
    // Now a contact with that email exists, and nobody knows whose it is.
    hubspot.add_contact("eve@example.com", "Eve");
    let Err(ConnectorError::CannotUndo(message)) =
        crm.undo("create_contact", &args, &Json::Null, &data)
    else {
        panic!("an unknown contact is never deleted");
    };
    assert!(
        message.contains("delete it by hand if it is Enact's"),
        "{message}"
    );
    assert_eq!(hubspot.contacts().len(), 1);
    let task_args = json!({"contact_id": "101", "subject": "Call"});
    assert!(matches!(
        crm.undo("create_task", &task_args, &Json::Null, &task_args),
        Err(ConnectorError::CannotUndo(_))
    ));
}

#[test]
fn a_slack_post_that_times_out_says_it_may_have_happened() {
    // A server that accepts connections and never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/api", listener.local_addr().unwrap());
    let slack =
        SlackConnector::new(settings(&url, SLACK_TOKEN, Duration::from_millis(300))).unwrap();
    let mut journaled = Vec::new();
    let error = slack
        .execute(
            "post_message",
            &json!({"channel": "C0123DEPLOY", "text": "hi"}),
            &mut |data: &Json| {
                journaled.push(data.clone());
                Ok(())
            },
        )
        .unwrap_err();
    let message = error.to_string();
    assert!(message.contains("no answer within 300ms"), "{message}");
    assert!(
        message.contains("may or may not have been posted"),
        "{message}"
    );
    assert_eq!(
        journaled,
        [json!({"channel": "C0123DEPLOY"})],
        "intent journalled first"
    );
    assert!(!message.contains(SLACK_TOKEN));
    drop(listener);

    let undo = slack.undo(
        "post_message",
        &json!({"channel": "C0123DEPLOY", "text": "hi"}),
        &Json::Null,
        &json!({"channel": "C0123DEPLOY"}),
    );
    let Err(ConnectorError::CannotUndo(message)) = undo else {
        panic!("an interrupted post cannot be found again");
    };
    assert!(message.contains("delete it by hand"), "{message}");
}

#[test]
fn a_journal_that_cannot_write_stops_every_mutation_before_it_is_sent() {
    let slack_api = SlackApi::start();
    let hubspot = HubspotApi::start();
    let slack = SlackConnector::new(settings(
        &slack_api.url(),
        SLACK_TOKEN,
        Duration::from_secs(5),
    ))
    .unwrap();
    let crm = HubspotConnector::new(settings(
        &hubspot.url(),
        HUBSPOT_TOKEN,
        Duration::from_secs(5),
    ))
    .unwrap();
    let contact = hubspot.add_contact("ada@example.com", "Ada");
    let mut broken = |_: &Json| Err("disk full".to_string());
    for (connector, action, args) in [
        (
            &slack as &dyn Connector,
            "post_message",
            json!({"channel": "C0123DEPLOY", "text": "hi"}),
        ),
        (&crm, "create_contact", json!({"email": "new@example.com"})),
        (
            &crm,
            "create_task",
            json!({"contact_id": contact, "subject": "Call"}),
        ),
    ] {
        let result = connector.execute(action, &args, &mut broken);
        assert!(
            matches!(result, Err(ConnectorError::NotJournaled(_))),
            "{action}: {result:?}"
        );
    }
    assert!(slack_api.messages().is_empty());
    assert!(hubspot.writes().is_empty());
    assert!(hubspot.tasks().is_empty());
}
