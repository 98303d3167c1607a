//! A store's signed head: the newest receipt's sequence, run id and chain hash, HMACed under
//! its own context (`enact head v1`). It is the commit point of an append and what makes a
//! truncated tail detectable; the directory store keeps it in `.enact/head.json`, the
//! PostgreSQL store in a one-row table.

use serde::{Deserialize, Serialize};

use super::canonical::canonical_bytes;
use super::error::ReceiptError;
use super::model::Receipt;
use super::signing::Signer;
use super::verify::{ChainHead, GENESIS_SHA256};

const HEAD_CONTEXT: &[u8] = b"enact head v1\n";
pub(crate) const HEAD_VERSION: u32 = 1;

/// The head as stored (`head.json` has exactly these fields).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SignedHead {
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

impl SignedHead {
    fn body(&self) -> HeadBody<'_> {
        HeadBody {
            version: self.version,
            sequence: self.sequence,
            run_id: &self.run_id,
            sha256: &self.sha256,
        }
    }

    /// The head for `chain`, signed with `signer`.
    pub fn signed(chain: ChainHead, signer: &Signer) -> Result<SignedHead, ReceiptError> {
        let mut head = SignedHead {
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
}

/// Places `receipt` right after `head` in the chain (first in the store when there is none):
/// the next sequence, and the head's hash as `prev_sha256`.
pub(crate) fn link_after(receipt: &mut Receipt, head: Option<&SignedHead>) -> Result<(), String> {
    receipt.sequence = match head {
        Some(head) => head
            .sequence
            .checked_add(1)
            .ok_or_else(|| "the head's sequence cannot grow any further".to_string())?,
        None => 1,
    };
    receipt.prev_sha256 =
        head.map_or_else(|| GENESIS_SHA256.to_string(), |head| head.sha256.clone());
    Ok(())
}

impl SignedHead {
    pub fn chain(&self) -> ChainHead {
        ChainHead {
            sequence: self.sequence,
            run_id: self.run_id.clone(),
            sha256: self.sha256.clone(),
        }
    }
}
