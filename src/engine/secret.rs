//! The signing secret: from the configured environment variable, else from the config's
//! `secret_file` (which `enact init` creates, readable by its owner only).

use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use super::EngineError;
use crate::config::Config;
use crate::receipt::Secret;

/// The secret for a project. The variable wins; the file is read only when it is unset.
pub fn load_secret(config: &Config, allow_insecure: bool) -> Result<Secret, EngineError> {
    let variable_set = std::env::var_os(&config.secret_env).is_some_and(|v| !v.is_empty());
    match &config.secret_file {
        Some(path) if !variable_set && path.exists() => {
            let metadata = std::fs::metadata(path).map_err(|e| {
                EngineError::Usage(format!("cannot read secret file {}: {e}", path.display()))
            })?;
            if metadata.permissions().mode() & 0o077 != 0 {
                return Err(EngineError::Usage(format!(
                    "secret file {} can be read by other users; make it private with `chmod 600 {}`",
                    path.display(),
                    path.display()
                )));
            }
            let text = std::fs::read_to_string(path).map_err(|e| {
                EngineError::Usage(format!("cannot read secret file {}: {e}", path.display()))
            })?;
            Secret::from_bytes(text.trim().as_bytes(), allow_insecure).map_err(|error| {
                EngineError::Usage(format!("secret file {}: {error}", path.display()))
            })
        }
        _ => Ok(Secret::from_env(&config.secret_env, allow_insecure)?),
    }
}

/// Writes a new random secret (32 bytes, hex) that only its owner can read.
pub fn create_secret_file(path: &Path) -> Result<(), String> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| format!("cannot read random bytes for a secret: {e}"))?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    file.write_all(format!("{}\n", hex::encode(bytes)).as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Adds `entry` to `dir/.gitignore` unless a line already says it. True when it was added.
pub fn ignore_in_git(dir: &Path, entry: &str) -> Result<bool, String> {
    let path = dir.join(".gitignore");
    let existing = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let wanted = entry.trim_start_matches('/');
    if existing
        .lines()
        .any(|line| line.trim().trim_start_matches('/') == wanted)
    {
        return Ok(false);
    }
    let mut text = existing;
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(entry);
    text.push('\n');
    std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(true)
}
