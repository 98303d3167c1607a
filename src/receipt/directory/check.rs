//! Verifying a whole directory store: every receipt file on every core, then the chain and
//! the head.

use std::fs;
use std::path::Path;

use super::DirectoryStore;
use super::files::read_into;
use crate::receipt::error::ReceiptError;
use crate::receipt::head::SignedHead;
use crate::receipt::parallel::parallel_map;
use crate::receipt::signing::Signer;
use crate::receipt::verify::{
    Problem, VerifyReport, check_bytes, check_file_name, claimed_link, only_signature_differs,
    verify_chain,
};

impl DirectoryStore {
    pub(super) fn verify_store(&self, signer: &Signer) -> Result<VerifyReport, ReceiptError> {
        // Finish an interrupted append first when the store is writable; a read-only copy is
        // verified as it is.
        if self.housekeeping().is_dir()
            && let Ok(_lock) = self.lock_exclusive()
        {
            let head = self.read_head().ok().flatten();
            if let Some(head) = head.filter(|head| head.verifies(signer)) {
                self.finish_staged(Some(&head))?;
            }
        }
        let _shared = self.lock_shared();
        let mut problems = Vec::new();
        let head_label = self.head_path().display().to_string();
        let head = match self.read_head() {
            Ok(Some(head)) if head.verifies(signer) => Some(head),
            Ok(Some(head)) => {
                problems.push(Problem::new(
                    &head_label,
                    None,
                    "the store's head does not carry a valid signature: it was edited, or this is \
                     not the secret the store was signed with",
                ));
                // One receipt tells a wrong secret from tampering: if the newest receipt is
                // intact but for its signature, nothing here can be checked with this secret.
                let newest = self.root.join(format!("{}.json", head.run_id));
                if let Ok(bytes) = fs::read(&newest)
                    && let Err(found) = check_bytes(&newest.display().to_string(), &bytes, signer)
                    && only_signature_differs(&found)
                {
                    return Ok(VerifyReport {
                        checked: 1,
                        problems: vec![Problem::new(
                            &self.root.display().to_string(),
                            None,
                            "neither the head nor the newest receipt verifies with this secret, \
                             although their contents are intact: is the secret (ENACT_SECRET or \
                             the variable the config names) the one this store was signed with?",
                        )],
                        chain_checked: false,
                    });
                }
                None
            }
            Ok(None) => None,
            Err(error) => {
                problems.push(Problem::new(&head_label, None, error.to_string()));
                None
            }
        };
        let files = self.receipt_files()?;
        if head.is_none() && problems.is_empty() && !files.is_empty() {
            problems.push(Problem::new(
                &head_label,
                None,
                "the store's head is missing although the directory holds receipts: the newest \
                 receipts could have been deleted without trace",
            ));
        }
        let root_label = self.root.display().to_string();
        let root = self.open_root()?;
        let checked = parallel_map(&files, |file, buffer| {
            let name = format!("{root_label}{}{file}", std::path::MAIN_SEPARATOR);
            let mut problems = Vec::new();
            let bytes = match read_into(&root, file, buffer) {
                Ok(bytes) => bytes,
                Err(error) => {
                    let message = format!("cannot read the file: {error}");
                    problems.push(Problem::new(&name, None, message));
                    return (None, problems);
                }
            };
            match check_bytes(&name, bytes, signer) {
                Ok(link) => {
                    check_file_name(&name, Path::new(file), &link.run_id, &mut problems);
                    (Some(link), problems)
                }
                Err(found) => (claimed_link(&name, bytes), found),
            }
        })
        .ok_or_else(|| self.damaged("a worker verifying the receipts stopped unexpectedly"))?;
        let mut links = Vec::with_capacity(checked.len());
        for (link, found) in checked {
            links.extend(link);
            problems.extend(found);
        }
        let chain_head = head.as_ref().map(SignedHead::chain);
        problems.extend(verify_chain(&links, chain_head.as_ref()));
        Ok(VerifyReport {
            checked: files.len(),
            problems,
            chain_checked: true,
        })
    }
}
