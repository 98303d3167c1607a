//! Enact's policy engine and Cedar judging the same agent requests with the same 20 policies
//! (`scenario/`): loading each side, turning one raw JSON request into each engine's input, and
//! the decision each gives, so the timings in `main.rs` compare equal work.

pub mod cedar_side;
pub mod enact_side;
pub mod scenario;
pub mod timing;

use std::collections::BTreeSet;

/// What an engine decided about one request, and which policies denied it (by their Enact
/// names; Cedar's carry the same name in `@id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub allowed: bool,
    pub denied_by: BTreeSet<String>,
}
