//! The top-level fields of a receipt a store's summary needs, read from its bytes without
//! building the payload and the other large values: what the directory store's index is
//! rebuilt from and what the PostgreSQL store's columns are derived from.

use std::borrow::Cow;

use serde::Deserialize;
use serde::de::IgnoredAny;

use super::model::{Decision, Kind, RunStatus};
use super::store::Summary;

#[derive(Debug, Deserialize)]
pub(crate) struct Outline<'a> {
    #[serde(borrow)]
    pub run_id: Cow<'a, str>,
    pub kind: Kind,
    #[serde(borrow)]
    pub original_run_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub workflow: Cow<'a, str>,
    #[serde(borrow)]
    actor: ActorOutline<'a>,
    pub decision: Decision,
    pub status: RunStatus,
    #[serde(borrow)]
    pub started_at: Cow<'a, str>,
    #[serde(borrow)]
    pub finished_at: Cow<'a, str>,
    pub sequence: u64,
    actions_taken: Vec<IgnoredAny>,
    #[serde(borrow)]
    pub signature: Cow<'a, str>,
}

#[derive(Debug, Default, Deserialize)]
struct ActorOutline<'a> {
    #[serde(borrow, default)]
    email: Option<Cow<'a, str>>,
}

impl Outline<'_> {
    /// The summary of this receipt whose chain hash is `sha256`; `recorded_at` is left empty
    /// for the store to fill in.
    pub fn summary(&self, sha256: String) -> Summary {
        Summary {
            run_id: self.run_id.to_string(),
            kind: self.kind,
            original_run_id: self.original_run_id.as_ref().map(ToString::to_string),
            workflow: self.workflow.to_string(),
            actor: self.actor.email.as_deref().unwrap_or_default().to_string(),
            decision: self.decision,
            status: self.status,
            started_at: self.started_at.to_string(),
            sequence: self.sequence,
            actions: self.actions_taken.len(),
            sha256,
            recorded_at: String::new(),
        }
    }
}
