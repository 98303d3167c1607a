//! The analysis engines behind the built-in functions: shell commands through a real bash
//! parser, SQL through a real SQL parser, and vetted detectors for secrets and prompt injection.
//! None of them depends on the policy language; each returns plain Rust data.

pub mod injection;
pub mod secrets;
pub mod shell;
pub mod sql;
