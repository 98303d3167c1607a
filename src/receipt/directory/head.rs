//! `.enact/head.json`: the store's [`SignedHead`], replaced durably by every append (its
//! commit point).

use std::fs;
use std::io::ErrorKind;

use super::DirectoryStore;
use super::files::{sync_dir, write_synced};
use crate::receipt::error::ReceiptError;
use crate::receipt::head::SignedHead;
use crate::receipt::run_id::RunId;

impl DirectoryStore {
    pub(super) fn read_head(&self) -> Result<Option<SignedHead>, ReceiptError> {
        let path = self.head_path();
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(ReceiptError::io("read the store's head", &path, error)),
        };
        let head: SignedHead = serde_json::from_slice(&bytes).map_err(|error| {
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

    pub(super) fn write_head(&self, head: &SignedHead) -> Result<(), ReceiptError> {
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
