//! Receipts: the model, canonical JSON, signing, verification and the stores they live in
//! (a directory, or a PostgreSQL database).

pub mod canonical;
pub mod directory;
pub mod error;
mod fast_path;
mod head;
mod journal;
pub mod model;
mod outline;
mod parallel;
pub mod postgres;
pub mod redact;
pub mod run_id;
pub mod signing;
pub mod store;
#[cfg(test)]
mod test_support;
pub mod verify;

pub use self::postgres::PostgresStore;
pub use canonical::{canonical_json, sha256_hex};
pub use directory::DirectoryStore;
pub use error::{ReceiptError, SecretError};
pub use model::*;
pub use redact::redact;
pub use run_id::RunId;
pub use signing::{Sealed, Secret, SignatureError, Signer};
pub use store::{Journal, ReceiptStore, Summary};
pub use verify::{
    ChainHead, ChainLink, Problem, VerifyReport, verify_chain, verify_document, verify_file,
};
