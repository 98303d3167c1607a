//! Any command line through the shell analysis: an answer or an error, never a panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(script) = std::str::from_utf8(data) {
        let _ = enact::policy::analysis::shell::commands(script);
        let _ = enact::policy::analysis::sql::statements(script);
    }
});
