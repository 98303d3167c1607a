//! Enact: an action firewall for AI agents.

pub mod cli;
pub mod config;
pub mod connectors;
pub mod engine;
pub mod hook;
pub mod policy;
pub mod receipt;
pub mod workflow;
