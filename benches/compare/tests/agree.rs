//! The comparison is honest only if both engines mean the same thing: on every request of the
//! scenario, Enact (with either SQL variant) and Cedar give the expected decision, denied by
//! exactly the expected policies, and the SQL facts Cedar is given are what Enact's SQL parser
//! finds in the statement's text.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

use enact_compare::cedar_side::CedarSide;
use enact_compare::enact_side::{self, EnactSide};
use enact_compare::scenario::{self, EnactVariant};

fn expected(case: &scenario::Case) -> BTreeSet<String> {
    case.denied_by.iter().cloned().collect()
}

#[test]
fn the_scenario_has_twenty_policies_on_each_side_and_both_outcomes() {
    let cases = scenario::cases().unwrap();
    let cedar = CedarSide::load().unwrap();
    assert_eq!(cedar.policy_count(), 20);
    for variant in [EnactVariant::SqlFacts, EnactVariant::SqlText] {
        assert_eq!(
            EnactSide::load(&variant.files()).unwrap().policy_count(),
            20
        );
    }
    let allowed = cases.iter().filter(|c| c.denied_by.is_empty()).count();
    assert!(allowed >= 5, "only {allowed} allowed requests");
    assert!(
        cases.len() - allowed >= 5,
        "only {} denied requests",
        cases.len() - allowed
    );
    // Every policy denies at least one request, so none is dead weight on either side.
    let deniers: BTreeSet<&str> = cases
        .iter()
        .flat_map(|c| c.denied_by.iter().map(String::as_str))
        .collect();
    assert_eq!(
        deniers.len(),
        20,
        "policies that deny something: {deniers:?}"
    );
}

#[test]
fn enact_and_cedar_decide_every_request_alike() {
    let cases = scenario::cases().unwrap();
    let cedar = CedarSide::load().unwrap();
    let facts = EnactSide::load(&EnactVariant::SqlFacts.files()).unwrap();
    let text = EnactSide::load(&EnactVariant::SqlText.files()).unwrap();
    let mut mismatches = Vec::new();
    for case in &cases {
        let want = expected(case);
        let prepared = enact_side::prepare(&case.raw).unwrap();
        let verdicts = [
            ("Enact (SQL facts)", facts.verdict(&prepared).unwrap()),
            ("Enact (SQL text)", text.verdict(&prepared).unwrap()),
            (
                "Cedar",
                cedar.verdict(&cedar.prepare(&case.raw).unwrap()).unwrap(),
            ),
        ];
        for (engine, verdict) in verdicts {
            if verdict.allowed != want.is_empty() || verdict.denied_by != want {
                mismatches.push(format!(
                    "{engine} on `{}`: got {verdict:?}, want {want:?}",
                    case.name
                ));
            }
        }
        // The fast path the timings use agrees with the explained one.
        assert_eq!(facts.allows(&prepared), want.is_empty(), "{}", case.name);
        assert_eq!(
            cedar.allows(&cedar.prepare(&case.raw).unwrap()),
            want.is_empty(),
            "{}",
            case.name
        );
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn the_sql_facts_are_what_enacts_parser_finds_in_the_text() {
    for case in scenario::cases().unwrap() {
        let request: serde_json::Value = serde_json::from_str(&case.raw).unwrap();
        let Some(sql) = request["context"].get("sql") else {
            continue;
        };
        let statements =
            enact::policy::analysis::sql::statements(sql["text"].as_str().unwrap()).unwrap();
        assert_eq!(statements.len(), 1, "{}", case.name);
        let s = &statements[0];
        let tables: Vec<String> = sql["tables"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().to_string())
            .collect();
        assert_eq!(s.kind, sql["kind"].as_str().unwrap(), "{}", case.name);
        assert_eq!(s.tables, tables, "{}", case.name);
        assert_eq!(
            s.has_where,
            sql["has_where"].as_bool().unwrap(),
            "{}",
            case.name
        );
        assert_eq!(
            s.has_limit,
            sql["has_limit"].as_bool().unwrap(),
            "{}",
            case.name
        );
    }
}

#[test]
fn a_request_with_a_wrong_shape_is_refused_by_both_preparers() {
    let cedar = CedarSide::load().unwrap();
    let no_time = r#"{"principal": {"id": "a", "role": "agent"}, "action": "read_file",
        "resource": "acme/payments", "context": {"path": "README.md"}}"#;
    assert!(enact_side::prepare(no_time).is_err());
    assert!(cedar.prepare(no_time).is_err());
    assert!(enact_side::prepare("{").is_err());
    assert!(cedar.prepare("{").is_err());
}
