//! Policies' `history.count` / `history.actions`, answered by the receipt store.

use chrono::{DateTime, Utc};

use crate::policy::eval::History;
use crate::policy::value::Value;
use crate::receipt::ReceiptStore;

pub struct StoreHistory<'s> {
    pub store: &'s dyn ReceiptStore,
}

impl History for StoreHistory<'_> {
    fn receipts(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        workflow: Option<&str>,
    ) -> Result<Vec<Value>, String> {
        let receipts = self
            .store
            .receipts_since(since, workflow)
            .map_err(|e| format!("cannot read the receipt history: {e}"))?;
        Ok(receipts
            .iter()
            .filter(|r| r.get("kind").and_then(|k| k.as_str()) == Some("run"))
            .filter(|r| {
                r.get("started_at")
                    .and_then(|t| t.as_str())
                    .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                    .is_some_and(|t| t.with_timezone(&Utc) < until)
            })
            .map(Value::from)
            .collect())
    }
}
