//! Any JSON payload, judged by the whole built-in library at both levels: never a panic.
#![no_main]

use std::sync::LazyLock;

use chrono::{TimeZone, Utc};
use enact::policy::eval::{ActionCall, Context, Enforcement, NoHistory, NoLookups, PolicyUse, Request, Session};
use enact::policy::library::{SAMPLE_PARAMETERS, bind_all_builtins};
use enact::policy::value::Value;
use libfuzzer_sys::fuzz_target;

static LIBRARY: LazyLock<Vec<PolicyUse>> = LazyLock::new(|| {
    let required = Value::from_json_str(SAMPLE_PARAMETERS).unwrap_or_default();
    bind_all_builtins(&required, Enforcement::Hard).unwrap_or_default()
});

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(payload) = Value::from_json_str(text) else { return };
    let request = Request {
        actor: Value::map([("role", Value::str("contractor"))]),
        workflow: Value::Null,
        payload: payload.clone(),
        plan: Value::list([]),
        now: Utc.with_ymd_and_hms(2026, 1, 15, 12, 0, 0).unwrap(),
        env: Value::empty_map(),
        workspace: "/workspace".into(),
        home: "/home/agent".into(),
    };
    let call = ActionCall { system: "agent".into(), name: "bash".into(), args: payload };
    for ctx in [Context::run(&request), Context::action(&request, &call)] {
        let _ = Session::new(&ctx, &NoLookups, &NoHistory).evaluate_all(&LIBRARY);
    }
});
