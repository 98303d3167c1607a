//! Enact: an action firewall for AI agents.

pub mod cli;
pub mod policy;
