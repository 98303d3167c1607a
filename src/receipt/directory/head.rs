//! `.enact/head.json`: the newest receipt's sequence, run id and chain hash, HMACed under its
//! own context. It is the commit point of an append, and what makes a truncated tail
//! detectable.

use std::fs;
use std::io::ErrorKind;

use serde::{Deserialize, Serialize};

use super::DirectoryStore;
use super::files::{sync_dir, write_synced};
use crate::receipt::canonical::canonical_bytes;
use crate::receipt::error::ReceiptError;
use crate::receipt::run_id::RunId;
use crate::receipt::signing::Signer;
use crate::receipt::verify::ChainHead;

const HEAD_CONTEXT: &[u8] = b"enact head v1\n";
const HEAD_VERSION: u32 = 1;

/// `head.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct HeadFile {
    pub version: u32,
    pub sequence: u64,
    pub run_id: String,
    pub sha256: String,
    pub signature: String,
}

#[derive(Serialize)]
struct HeadBody<'a> {
    version: u32,
    sequence: u64,
    run_id: &'a str,
    sha256: &'a str,
}

impl HeadFile {
    fn body(&self) -> HeadBody<'_> {
        HeadBody {
            version: self.version,
            sequence: self.sequence,
            run_id: &self.run_id,
            sha256: &self.sha256,
        }
    }

    /// The head for `chain`, signed with `signer`.
    pub fn signed(chain: ChainHead, signer: &Signer) -> Result<HeadFile, ReceiptError> {
        let mut head = HeadFile {
            version: HEAD_VERSION,
            sequence: chain.sequence,
            run_id: chain.run_id,
            sha256: chain.sha256,
            signature: String::new(),
        };
        let bytes = canonical_bytes(&head.body(), "the store's head")?;
        head.signature = signer.mac_hex(HEAD_CONTEXT, &[&bytes]);
        Ok(head)
    }

    pub fn verifies(&self, signer: &Signer) -> bool {
        canonical_bytes(&self.body(), "the store's head")
            .is_ok_and(|bytes| signer.mac_matches(HEAD_CONTEXT, &[&bytes], &self.signature))
    }

    pub fn chain(&self) -> ChainHead {
        ChainHead {
            sequence: self.sequence,
            run_id: self.run_id.clone(),
            sha256: self.sha256.clone(),
        }
    }
}

impl DirectoryStore {
    pub(super) fn read_head(&self) -> Result<Option<HeadFile>, ReceiptError> {
        let path = self.head_path();
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(ReceiptError::io("read the store's head", &path, error)),
        };
        let head: HeadFile = serde_json::from_slice(&bytes).map_err(|error| {
            self.damaged(format!("`{}` is not a valid head: {error}", path.display()))
        })?;
        if head.run_id.parse::<RunId>().is_err() {
            return Err(self.damaged(format!(
                "`{}` names run `{}`, which is not a run id",
                path.display(),
                head.run_id
            )));
        }
        Ok(Some(head))
    }

    pub(super) fn write_head(&self, head: &HeadFile) -> Result<(), ReceiptError> {
        let path = self.head_path();
        let temporary = self.housekeeping().join("head.json.tmp");
        let mut bytes = serde_json::to_vec(head).map_err(|error| ReceiptError::Canonical {
            what: "the store's head".to_string(),
            message: error.to_string(),
        })?;
        bytes.push(b'\n');
        write_synced(&temporary, &bytes)?;
        fs::rename(&temporary, &path).map_err(|error| ReceiptError::io("replace", &path, error))?;
        sync_dir(&self.housekeeping())
    }
}
