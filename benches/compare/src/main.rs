//! `enact-compare`: checks that Enact and Cedar decide the scenario's requests alike, then times
//! each per decision (engine only, and from raw JSON), or runs a fixed number of decisions for
//! callgrind to count. Usage:
//!
//! ```text
//! enact-compare bench [--rounds R] [--per-round N] [--json FILE]
//! enact-compare agree
//! enact-compare once enact|enact-json|enact-sql-text|cedar|cedar-json|library COUNT
//! ```

use std::hint::black_box;
use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use enact_compare::cedar_side::{self, CedarSide};
use enact_compare::enact_side::{self, EnactSide};
use enact_compare::scenario::{self, Case, EnactVariant};
use enact_compare::timing::{Contender, Stats, race};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("bench") => bench(args.get(1..).unwrap_or_default()),
        Some("agree") => agree().map(|summary| println!("{summary}")),
        Some("once") => once(args.get(1..).unwrap_or_default()),
        _ => bail!(
            "usage: enact-compare bench [--rounds R] [--per-round N] [--json FILE] | agree | once WHAT COUNT"
        ),
    }
}

/// Both Enact variants and Cedar on every case: each must give the expected decision and be
/// denied by exactly the expected policies. The same check as `tests/agree.rs`, run before any
/// timing so a benchmark never compares engines that disagree.
fn agree() -> Result<String> {
    let cases = scenario::cases()?;
    let cedar = CedarSide::load()?;
    let mut problems = Vec::new();
    for variant in [EnactVariant::SqlFacts, EnactVariant::SqlText] {
        let enact = EnactSide::load(&variant.files())?;
        for case in &cases {
            let expected: std::collections::BTreeSet<String> =
                case.denied_by.iter().cloned().collect();
            let got = enact.verdict(&enact_side::prepare(&case.raw)?)?;
            if got.denied_by != expected || got.allowed != expected.is_empty() {
                problems.push(format!("Enact ({variant:?}) on `{}`: {got:?}", case.name));
            }
            if variant == EnactVariant::SqlFacts {
                let got = cedar.verdict(&cedar.prepare(&case.raw)?)?;
                if got.denied_by != expected || got.allowed != expected.is_empty() {
                    problems.push(format!("Cedar on `{}`: {got:?}", case.name));
                }
            }
        }
    }
    if !problems.is_empty() {
        bail!(
            "the engines do not decide as expected:\n  {}",
            problems.join("\n  ")
        );
    }
    let allowed = cases.iter().filter(|c| c.denied_by.is_empty()).count();
    Ok(format!(
        "{} requests ({allowed} allowed, {} denied): Enact (both SQL variants) and Cedar give the \
         expected decision, denied by the expected policies, on every one",
        cases.len(),
        cases.len() - allowed
    ))
}

fn flag(args: &[String], name: &str) -> Option<String> {
    let at = args.iter().position(|a| a == name)?;
    args.get(at + 1).cloned()
}

fn number(args: &[String], name: &str, default: usize) -> Result<usize> {
    flag(args, name).map_or(Ok(default), |v| {
        v.parse()
            .with_context(|| format!("{name} wants a number, got `{v}`"))
    })
}

fn pick<T>(items: &[T], index: usize) -> Result<&T> {
    items
        .get(index % items.len().max(1))
        .context("no requests in the scenario")
}

fn bench(args: &[String]) -> Result<()> {
    let rounds = number(args, "--rounds", 20)?;
    let per_round = number(args, "--per-round", 1_000)?;
    let json_out = flag(args, "--json").map(PathBuf::from);

    println!("{}", agree()?);
    let cases = scenario::cases()?;
    let facts = EnactSide::load(&EnactVariant::SqlFacts.files())?;
    let text = EnactSide::load(&EnactVariant::SqlText.files())?;
    let cedar = CedarSide::load()?;
    let raw: Vec<&str> = cases.iter().map(|c: &Case| c.raw.as_str()).collect();
    let enact_prepared = raw
        .iter()
        .map(|r| enact_side::prepare(r))
        .collect::<Result<Vec<_>>>()?;
    let cedar_prepared = raw
        .iter()
        .map(|r| cedar.prepare(r))
        .collect::<Result<Vec<_>>>()?;
    println!(
        "policies: Enact {} + Enact (SQL text) {} · Cedar {}; {} rounds × {} decisions each, \
         cycling through the {} requests",
        facts.policy_count(),
        text.policy_count(),
        cedar.policy_count(),
        rounds,
        per_round,
        cases.len()
    );

    // A request that fails to prepare counts as a denial: the timed closures cannot return
    // errors, and every request was prepared once above, so none does.
    let mut contenders = vec![
        Contender {
            name: "enact engine".into(),
            decide: Box::new(|i| pick(&enact_prepared, i).is_ok_and(|p| facts.allows(p))),
        },
        Contender {
            name: "cedar engine".into(),
            decide: Box::new(|i| pick(&cedar_prepared, i).is_ok_and(|p| cedar.allows(p))),
        },
        Contender {
            name: "enact json".into(),
            decide: Box::new(|i| {
                pick(&raw, i)
                    .and_then(|r| enact_side::prepare(r))
                    .is_ok_and(|p| facts.allows(&p))
            }),
        },
        Contender {
            name: "cedar json".into(),
            decide: Box::new(|i| {
                pick(&raw, i)
                    .and_then(|r| cedar.prepare(r))
                    .is_ok_and(|p| cedar.allows(&p))
            }),
        },
        Contender {
            name: "enact-sql-text engine".into(),
            decide: Box::new(|i| pick(&enact_prepared, i).is_ok_and(|p| text.allows(p))),
        },
        Contender {
            name: "enact-sql-text json".into(),
            decide: Box::new(|i| {
                pick(&raw, i)
                    .and_then(|r| enact_side::prepare(r))
                    .is_ok_and(|p| text.allows(&p))
            }),
        },
    ];
    let results = race(&mut contenders, 2 * per_round, rounds, per_round);
    drop(contenders);
    let stats = |name: &str| -> Result<Stats> {
        results
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, s)| *s)
            .with_context(|| format!("no samples for {name}"))
    };

    let rows = [
        (
            "20 policies, engine only (request pre-parsed)",
            "enact engine",
            Some("cedar engine"),
        ),
        (
            "20 policies, from raw JSON (parse + evaluate)",
            "enact json",
            Some("cedar json"),
        ),
        (
            "the same, Enact parsing the SQL text, engine only",
            "enact-sql-text engine",
            None,
        ),
        (
            "the same, Enact parsing the SQL text, from raw JSON",
            "enact-sql-text json",
            None,
        ),
    ];
    println!();
    println!(
        "{:<52} {:>12} {:>12} {:>12} {:>12} {:>8}",
        "per decision", "Enact med", "Enact p99", "Cedar med", "Cedar p99", "ratio"
    );
    let mut json_rows = Vec::new();
    for (label, enact_name, cedar_name) in rows {
        let e = stats(enact_name)?;
        let c = cedar_name.map(&stats).transpose()?;
        let us = |ns: f64| format!("{:.2} µs", ns / 1000.0);
        println!(
            "{:<52} {:>12} {:>12} {:>12} {:>12} {:>8}",
            label,
            us(e.median_ns),
            us(e.p99_ns),
            c.map_or("—".into(), |c| us(c.median_ns)),
            c.map_or("—".into(), |c| us(c.p99_ns)),
            c.map_or("—".into(), |c| format!(
                "{:.2}×",
                c.median_ns / e.median_ns
            )),
        );
        json_rows.push(serde_json::json!({
            "what": label,
            "enact": {"median_ns": e.median_ns, "p99_ns": e.p99_ns, "mean_ns": e.mean_ns, "samples": e.samples},
            "cedar": c.map(|c| serde_json::json!({"median_ns": c.median_ns, "p99_ns": c.p99_ns, "mean_ns": c.mean_ns, "samples": c.samples})),
        }));
    }
    println!("(ratio: Cedar's median over Enact's; above 1 means Enact is faster)");
    if let Some(path) = json_out {
        std::fs::write(&path, serde_json::to_string_pretty(&json_rows)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// A fixed number of decisions after loading, for `valgrind --tool=callgrind`: run it with
/// two counts and the difference over the extra decisions is the cost of one decision.
fn once(args: &[String]) -> Result<()> {
    let what = args.first().map(String::as_str).unwrap_or_default();
    let count: usize = args
        .get(1)
        .context("once WHAT COUNT: COUNT is missing")?
        .parse()
        .context("COUNT must be a number")?;
    let cases = scenario::cases()?;
    let raw: Vec<&str> = cases.iter().map(|c| c.raw.as_str()).collect();
    let mut allowed = 0usize;
    match what {
        "enact" | "enact-sql-text" | "enact-json" => {
            let variant = if what == "enact-sql-text" {
                EnactVariant::SqlText
            } else {
                EnactVariant::SqlFacts
            };
            let enact = EnactSide::load(&variant.files())?;
            let prepared = raw
                .iter()
                .map(|r| enact_side::prepare(r))
                .collect::<Result<Vec<_>>>()?;
            for i in 0..count {
                let decided = if what == "enact-json" {
                    enact.allows(&enact_side::prepare(black_box(pick(&raw, i)?))?)
                } else {
                    enact.allows(black_box(pick(&prepared, i)?))
                };
                allowed += usize::from(decided);
            }
        }
        "cedar" | "cedar-json" => {
            let cedar = CedarSide::load()?;
            let prepared = raw
                .iter()
                .map(|r| cedar.prepare(r))
                .collect::<Result<Vec<cedar_side::Prepared>>>()?;
            for i in 0..count {
                let decided = if what == "cedar-json" {
                    cedar.allows(&cedar.prepare(black_box(pick(&raw, i)?))?)
                } else {
                    cedar.allows(black_box(pick(&prepared, i)?))
                };
                allowed += usize::from(decided);
            }
        }
        "library" => {
            let library = EnactSide::library()?;
            let prepared = enact_side::library_request()?;
            for _ in 0..count {
                allowed += usize::from(library.allows(black_box(&prepared)));
            }
        }
        other => bail!(
            "once: unknown `{other}`; one of enact, enact-json, enact-sql-text, cedar, cedar-json, library"
        ),
    }
    println!("{allowed} of {count} allowed");
    Ok(())
}
