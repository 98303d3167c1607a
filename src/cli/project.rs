//! The flags every command that touches a project shares (`--config`,
//! `--allow-insecure-secret`), and how engine errors become messages and exit codes.

use std::path::PathBuf;

use super::{Output, exit};
use crate::config::Config;
use crate::engine::{EngineError, Project};

#[derive(clap::Args, Clone, Default)]
pub struct ProjectArgs {
    /// The configuration file (default: enact.yaml in this directory or a parent; else the
    /// embedded defaults).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Accept a signing secret shorter than 32 bytes (recorded in every receipt).
    #[arg(long)]
    pub allow_insecure_secret: bool,
}

/// Loads the config and opens the project. The outer error is an exit code already reported
/// (the working directory is unreadable); the inner one is for `engine_error`.
pub fn open_project(args: &ProjectArgs) -> Result<(Result<Project, EngineError>, PathBuf), u8> {
    let cwd = match std::env::current_dir() {
        Ok(cwd) => cwd,
        Err(error) => {
            let _ = std::io::Write::write_all(
                &mut std::io::stderr(),
                format!("error: cannot read the current directory: {error}\n").as_bytes(),
            );
            return Err(exit::USAGE);
        }
    };
    let project = Config::discover(args.config.as_deref(), &cwd)
        .map_err(EngineError::from)
        .and_then(|config| Project::open(config, args.allow_insecure_secret));
    Ok((project, cwd))
}

/// Reports an engine error; exit 2 when nothing ran because of the input, else 1.
pub fn engine_error(out: &Output, error: &EngineError) -> u8 {
    match error {
        EngineError::Policies(diagnostics) => out.diagnostics(diagnostics),
        other => out.error(&other.to_string()),
    }
    if error.is_usage() {
        exit::USAGE
    } else {
        exit::FAILURE
    }
}
