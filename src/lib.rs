//! Enact: an action firewall for AI agents.

pub mod cli;
pub mod connectors;
pub mod policy;
pub mod receipt;
pub mod workflow;
