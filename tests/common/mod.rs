//! Drives the built `enact` binary: arguments and working directory in; stdout, stderr and exit
//! code out.
#![allow(dead_code)]

pub mod api_server;
pub mod github_api;
pub mod hubspot_api;
pub mod pg;
pub mod project;
pub mod slack_api;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub struct Run {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn enact_in(dir: &Path, args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_enact"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("the enact binary runs");
    Run {
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        code: output.status.code().unwrap_or(-1),
    }
}

pub fn enact(args: &[&str]) -> Run {
    enact_in(&repo(), args)
}
