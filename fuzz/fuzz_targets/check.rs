//! Any text given as a policy file: parsing, checking, compiling tests and running them must
//! never panic, hang or overflow.
#![no_main]

use enact::policy::library::PolicySet;
use enact::policy::source::SourceFile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let set = PolicySet::from_sources(vec![(SourceFile::new("f.enact", text), "f".into(), "g".into(), false)]);
    for block in &set.tests {
        let _ = block.run();
    }
    let _ = enact::policy::format::format_source(&SourceFile::new("f.enact", text));
});
