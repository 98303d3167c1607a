//! Any bytes as a receipt document: verification answers (valid or the problems) and never
//! panics; a document it accepts deserialises to a receipt that signs to the same signature.
#![no_main]

use std::sync::LazyLock;

use enact::receipt::{Secret, Signer, verify_document};
use libfuzzer_sys::fuzz_target;

static SIGNER: LazyLock<Signer> = LazyLock::new(|| {
    let secret = Secret::from_bytes(b"fuzz-secret-0123456789abcdef-0123456789".to_vec(), false);
    Signer::new(&secret.unwrap_or_else(|_| std::process::abort()))
});

fuzz_target!(|data: &[u8]| {
    let Ok(document) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    if let Ok(receipt) = verify_document(&document, &SIGNER) {
        let mut again = receipt.clone();
        if SIGNER.sign(&mut again).is_ok() && again.signature != receipt.signature {
            std::process::abort();
        }
    }
});
