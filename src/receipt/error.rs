//! What can go wrong while storing, reading and signing receipts. Every message names the
//! file or run involved and, where there is one, the fix.

use std::path::{Path, PathBuf};

/// The signing secret could not be used. Messages never contain the secret's value.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error(
        "the signing secret is missing: environment variable `{var}` is not set; \
         create one with `export {var}=$(openssl rand -hex 32)`, \
         or pass --allow-insecure-secret to sign with an empty secret (receipts then prove nothing)"
    )]
    Missing { var: String },
    #[error(
        "the signing secret in `{var}` is {len} bytes long, and at least 32 are required; \
         create one with `export {var}=$(openssl rand -hex 32)`, \
         or pass --allow-insecure-secret to accept a short one (receipts then record insecure_secret: true)"
    )]
    TooShort { var: String, len: usize },
    #[error(
        "the signing secret is {len} bytes long, and at least 32 are required \
         (for example the output of `openssl rand -hex 32`)"
    )]
    TooShortBytes { len: usize },
}

#[derive(Debug, thiserror::Error)]
pub enum ReceiptError {
    #[error("cannot {action} `{}`: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("`{}` is not valid JSON at line {line}, column {column}: {message}", path.display())]
    MalformedJson {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "`{input}` is not a run id: expected a UUID in its hyphenated form, \
         like `67e55044-10b1-426f-9247-bb680e5fe0c8`"
    )]
    BadRunId { input: String },
    #[error("cannot lock the receipt store through `{}`: {source}", path.display())]
    Lock {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot canonicalise {what} as RFC 8785 JSON: {message}")]
    Canonical { what: String, message: String },
    #[error("a receipt for run {run_id} already exists at `{location}`; every run has its own id")]
    DuplicateRun { run_id: String, location: String },
    #[error(
        "the receipt store `{store}` is damaged or was tampered with: {message}; \
         run `enact verify` to see every problem"
    )]
    Damaged { store: String, message: String },
    #[error("the index of `{}` lists run {run_id}, but its receipt `{}` is gone; run `enact verify`", root.display(), path.display())]
    MissingReceipt {
        root: PathBuf,
        run_id: String,
        path: PathBuf,
    },
    #[error("journal `{journal}`, line {line}: {message}")]
    Journal {
        journal: String,
        line: usize,
        message: String,
    },
    #[error("a journal entry must be a JSON object without a `mac` field, got {got}")]
    BadJournalEntry { got: String },
    /// The URL is shown with any password masked; the password itself never is.
    #[error(
        "the receipt store URL `{url}` cannot be used: {message}; \
         write it as `postgres://user@host:port/database`"
    )]
    BadStoreUrl { url: String, message: String },
    #[error(
        "the receipt store URL `{url}` contains a password; remove it from enact.yaml \
         (`postgres://user@host:port/database`) and set the PGPASSWORD environment variable instead"
    )]
    PasswordInUrl { url: String },
    #[error("the PostgreSQL receipt store `{store}`: cannot {action}: {message}")]
    Postgres {
        store: String,
        action: &'static str,
        message: String,
    },
}

impl ReceiptError {
    pub(crate) fn io(action: &'static str, path: &Path, source: std::io::Error) -> ReceiptError {
        ReceiptError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn json(path: &Path, error: &serde_json::Error) -> ReceiptError {
        ReceiptError::MalformedJson {
            path: path.to_path_buf(),
            line: error.line(),
            column: error.column(),
            message: error.to_string(),
        }
    }
}
