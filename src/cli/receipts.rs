//! `enact verify`, `enact ls` and `enact show`: reading the receipt store.
//! verify exits 0 when everything checks out and 1 when anything does not.

use std::path::PathBuf;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use serde::Serialize;

use super::project::{ProjectArgs, engine_error, open_project};
use super::{JSON_VERSION, Output, exit};
use crate::engine::Project;
use crate::receipt::{Problem, RunId, Summary, VerifyReport, verify_document, verify_file};

#[derive(clap::Args)]
pub struct VerifyArgs {
    /// Run ids, receipt files or directories; default: the whole store, chain included.
    targets: Vec<String>,
    /// Print one JSON document.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    project: ProjectArgs,
}

#[derive(clap::Args)]
pub struct LsArgs {
    /// Only runs of this workflow.
    #[arg(long)]
    workflow: Option<String>,
    /// Only this decision: PASS, BLOCK, PENDING, ROLLED_BACK or PARTIAL.
    #[arg(long)]
    decision: Option<String>,
    /// Only runs by this actor.
    #[arg(long)]
    actor: Option<String>,
    /// Only runs started in the last DURATION (`2h`, `7d`) or since DATE (2026-01-31 or RFC 3339).
    #[arg(long, value_name = "DURATION|DATE")]
    since: Option<String>,
    /// At most N receipts, newest first.
    #[arg(long, default_value_t = 50)]
    limit: usize,
    /// Print one JSON document.
    #[arg(long, conflicts_with = "ids")]
    json: bool,
    /// Print only the run ids, one per line (for `enact rollback $(enact ls --limit 1 --ids)`).
    #[arg(long)]
    ids: bool,
    #[command(flatten)]
    project: ProjectArgs,
}

#[derive(clap::Args)]
pub struct ShowArgs {
    /// The run id.
    run_id: String,
    /// Print one JSON document.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    project: ProjectArgs,
}

fn open(out: &Output, args: &ProjectArgs) -> Result<Project, u8> {
    match open_project(args) {
        Ok((Ok(project), _)) => Ok(project),
        Ok((Err(error), _)) => Err(engine_error(out, &error)),
        Err(code) => Err(code),
    }
}

#[derive(Serialize)]
struct VerifyDocument<'a> {
    version: u32,
    valid: bool,
    checked: usize,
    chain_checked: bool,
    problems: &'a [Problem],
}

pub fn verify(out: &Output, args: &VerifyArgs) -> u8 {
    let project = match open(out, &args.project) {
        Ok(project) => project,
        Err(code) => return code,
    };
    let report = if args.targets.is_empty() {
        project.store.verify(&project.signer)
    } else {
        let mut report = VerifyReport::default();
        for target in &args.targets {
            verify_target(&project, target, &mut report);
        }
        report
    };
    if args.json {
        out.json(&VerifyDocument {
            version: JSON_VERSION,
            valid: report.is_valid(),
            checked: report.checked,
            chain_checked: report.chain_checked,
            problems: &report.problems,
        });
    } else {
        let mut text = String::new();
        for problem in &report.problems {
            text.push_str(&format!("INVALID {problem}\n"));
        }
        if report.is_valid() {
            text.push_str(&format!(
                "ok: {} receipt{} verified, every signature valid{}\n",
                report.checked,
                if report.checked == 1 { "" } else { "s" },
                if report.chain_checked {
                    ", chain intact"
                } else {
                    ""
                }
            ));
        } else {
            text.push_str(&format!(
                "{} problem{} in {} receipt{} checked\n",
                report.problems.len(),
                if report.problems.len() == 1 { "" } else { "s" },
                report.checked,
                if report.checked == 1 { "" } else { "s" },
            ));
        }
        out.print(&text);
    }
    if report.is_valid() {
        exit::OK
    } else {
        exit::FAILURE
    }
}

/// One `verify` argument: an existing file or directory, else a run id in the store.
fn verify_target(project: &Project, target: &str, report: &mut VerifyReport) {
    let path = PathBuf::from(target);
    if path.is_dir() {
        match crate::receipt::DirectoryStore::open(&path) {
            Ok(store) => {
                let sub = crate::receipt::ReceiptStore::verify(&store, &project.signer);
                report.checked += sub.checked;
                report.chain_checked |= sub.chain_checked;
                report.problems.extend(sub.problems);
            }
            Err(error) => report
                .problems
                .push(Problem::new(target, None, error.to_string())),
        }
        return;
    }
    if path.is_file() {
        report.checked += 1;
        if let Err(problems) = verify_file(&path, &project.signer) {
            report.problems.extend(problems);
        }
        return;
    }
    report.checked += 1;
    let run_id = match RunId::from_str(target) {
        Ok(run_id) => run_id,
        Err(error) => {
            report.problems.push(Problem::new(
                target,
                None,
                format!("not a file, a directory or a run id: {error}"),
            ));
            return;
        }
    };
    match project.store.get(&run_id) {
        Ok(Some(document)) => {
            if let Err(problems) = verify_document(&document, &project.signer) {
                report.problems.extend(problems);
            }
        }
        Ok(None) => report.problems.push(Problem::new(
            target,
            None,
            format!("no receipt for this run in {}", project.store.describe()),
        )),
        Err(error) => report
            .problems
            .push(Problem::new(target, None, error.to_string())),
    }
}

/// `--since`: a duration back from now (`2h`), a date (`2026-01-31`) or an RFC 3339 time.
fn parse_since(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    if let Some(ms) = crate::policy::types::parse_duration(text) {
        return Ok(now - chrono::Duration::milliseconds(ms));
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        && let Some(start) = date.and_hms_opt(0, 0, 0)
    {
        return Ok(start.and_utc());
    }
    crate::policy::types::parse_time(text).map_err(|_| {
        format!("--since takes a duration (30m, 2h, 7d), a date (2026-01-31) or an RFC 3339 time; got `{text}`")
    })
}

pub fn ls(out: &Output, args: &LsArgs) -> u8 {
    let since = match args
        .since
        .as_deref()
        .map(|s| parse_since(s, Utc::now()))
        .transpose()
    {
        Ok(since) => since,
        Err(message) => {
            out.error(&message);
            return exit::USAGE;
        }
    };
    let project = match open(out, &args.project) {
        Ok(project) => project,
        Err(code) => return code,
    };
    let summaries = match project.store.summaries() {
        Ok(summaries) => summaries,
        Err(error) => {
            out.error(&error.to_string());
            return exit::FAILURE;
        }
    };
    let decision = args.decision.as_deref().map(str::to_uppercase);
    let selected: Vec<&Summary> = summaries
        .iter()
        .rev()
        .filter(|s| args.workflow.as_deref().is_none_or(|w| s.workflow == w))
        .filter(|s| decision.as_deref().is_none_or(|d| s.decision.as_str() == d))
        .filter(|s| args.actor.as_deref().is_none_or(|a| s.actor == a))
        .filter(|s| {
            since.is_none_or(|since| {
                DateTime::parse_from_rfc3339(&s.started_at)
                    .is_ok_and(|t| t.with_timezone(&Utc) >= since)
            })
        })
        .take(args.limit)
        .collect();
    if args.json {
        out.json(&serde_json::json!({ "version": JSON_VERSION, "receipts": selected }));
        return exit::OK;
    }
    if args.ids {
        out.print(
            &selected
                .iter()
                .map(|s| format!("{}\n", s.run_id))
                .collect::<String>(),
        );
        return exit::OK;
    }
    if selected.is_empty() {
        out.println(&format!(
            "no receipts match in {}",
            project.store.describe()
        ));
        return exit::OK;
    }
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header([
        "#",
        "run",
        "started (UTC)",
        "workflow",
        "kind",
        "decision",
        "status",
        "actor",
        "steps",
    ]);
    for s in &selected {
        table.add_row([
            s.sequence.to_string(),
            s.run_id.clone(),
            s.started_at
                .replace('T', " ")
                .trim_end_matches('Z')
                .to_string(),
            s.workflow.clone(),
            kind_name(s),
            s.decision.as_str().to_string(),
            s.status.as_str().to_string(),
            s.actor.clone(),
            s.actions.to_string(),
        ]);
    }
    out.println(&table.to_string());
    exit::OK
}

fn kind_name(summary: &Summary) -> String {
    serde_json::to_value(summary.kind)
        .ok()
        .and_then(|k| k.as_str().map(str::to_string))
        .unwrap_or_default()
}

pub fn show(out: &Output, args: &ShowArgs) -> u8 {
    let run_id = match RunId::from_str(&args.run_id) {
        Ok(run_id) => run_id,
        Err(error) => {
            out.error(&error.to_string());
            return exit::USAGE;
        }
    };
    let project = match open(out, &args.project) {
        Ok(project) => project,
        Err(code) => return code,
    };
    let document = match project.store.get(&run_id) {
        Ok(Some(document)) => document,
        Ok(None) => {
            out.error(&format!(
                "no receipt for run {run_id} in {}; `enact ls` lists the runs there",
                project.store.describe()
            ));
            return exit::USAGE;
        }
        Err(error) => {
            out.error(&error.to_string());
            return exit::FAILURE;
        }
    };
    let verdict = verify_document(&document, &project.signer);
    if args.json {
        let problems = verdict.as_ref().err().cloned().unwrap_or_default();
        out.json(&serde_json::json!({
            "version": JSON_VERSION,
            "valid": verdict.is_ok(),
            "problems": problems,
            "receipt": document,
        }));
        return exit::OK;
    }
    out.print(&render_receipt(&document, verdict.err().as_deref()));
    exit::OK
}

fn render_receipt(receipt: &serde_json::Value, problems: Option<&[Problem]>) -> String {
    use std::fmt::Write;
    let text_of = |key: &str| receipt.get(key).and_then(|v| v.as_str()).unwrap_or("-");
    let mut text = String::new();
    let _ = writeln!(
        text,
        "{}  {} {}  run {}",
        text_of("decision"),
        text_of("kind"),
        text_of("workflow"),
        text_of("run_id")
    );
    match problems {
        None => {
            let _ = writeln!(text, "signature valid");
        }
        Some(problems) => {
            for problem in problems {
                let _ = writeln!(text, "INVALID {problem}");
            }
        }
    }
    let _ = writeln!(text, "status     {}", text_of("status"));
    if let Some(original) = receipt.get("original_run_id").and_then(|v| v.as_str()) {
        let _ = writeln!(text, "undoes     {original}");
    }
    let actor = receipt
        .pointer("/actor/email")
        .and_then(|v| v.as_str())
        .unwrap_or("-");
    let _ = writeln!(text, "actor      {actor}");
    let _ = writeln!(
        text,
        "time       {} → {}",
        text_of("started_at"),
        text_of("finished_at")
    );
    let _ = writeln!(
        text,
        "sequence   {}  (previous {})",
        receipt
            .get("sequence")
            .map(ToString::to_string)
            .unwrap_or_default(),
        text_of("prev_sha256")
    );
    if let Some(payload) = receipt.get("payload") {
        let _ = writeln!(text, "payload    {payload}");
    }
    if let Some(error) = receipt.get("error").and_then(|v| v.as_str()) {
        let _ = writeln!(text, "error      {error}");
    }
    let results = receipt
        .get("policy_results")
        .and_then(|v| v.as_array())
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    if !results.is_empty() {
        let _ = writeln!(text, "policies");
        for r in results {
            let field = |k: &str| r.get(k).and_then(|v| v.as_str()).unwrap_or("-");
            let _ = writeln!(
                text,
                "  {:<14} {} ({}, {}): {}",
                field("status"),
                field("policy"),
                field("level"),
                field("stage"),
                field("reason")
            );
        }
    }
    let actions = receipt
        .get("actions_taken")
        .and_then(|v| v.as_array())
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    if !actions.is_empty() {
        let _ = writeln!(text, "actions");
        for a in actions {
            let field = |k: &str| a.get(k).and_then(|v| v.as_str()).unwrap_or("-");
            let ok = a.get("success").and_then(|v| v.as_bool()).unwrap_or(false);
            let _ = writeln!(
                text,
                "  {} {} {}.{} {}",
                if ok { "✓" } else { "✗" },
                field("step"),
                field("system"),
                field("action"),
                a.get("args").map(ToString::to_string).unwrap_or_default()
            );
            if let Some(error) = a.get("error").and_then(|v| v.as_str()) {
                let _ = writeln!(text, "      error: {error}");
            }
        }
    }
    for o in receipt
        .get("overrides")
        .and_then(|v| v.as_array())
        .map(Vec::as_slice)
        .unwrap_or(&[])
    {
        let _ = writeln!(text, "override   {o}");
    }
    text
}
