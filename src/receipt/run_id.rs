//! Run ids: UUIDs in their canonical hyphenated form, checked before any path is built from
//! one (SPEC §7), so `../etc/passwd` can never become a file name.

use std::fmt;
use std::str::FromStr;

use super::error::ReceiptError;

/// A run's id. Parsing accepts only the 36-character hyphenated form (`8-4-4-4-12` hex
/// digits) of any UUID version; uppercase hex is accepted and normalised to lowercase, since
/// some tools print UUIDs that way. Braces, `urn:uuid:`, the 32-digit simple form and any
/// extra character are rejected. Display is lowercase hyphenated, the form file names use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RunId(uuid::Uuid);

impl RunId {
    /// A fresh random (version 4) id.
    #[allow(clippy::new_without_default)] // a default id would read as a fixed one
    pub fn new() -> RunId {
        RunId(uuid::Uuid::new_v4())
    }

    pub fn as_uuid(&self) -> &uuid::Uuid {
        &self.0
    }

    /// Whether `text` is a run id exactly as [`RunId`] displays it (lowercase hyphenated):
    /// the only form allowed inside a receipt and in file names.
    pub fn is_canonical(text: &str) -> bool {
        text.len() == 36
            && text.bytes().enumerate().all(|(index, byte)| match index {
                8 | 13 | 18 | 23 => byte == b'-',
                _ => byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte),
            })
    }

    /// The receipt file name, `<run_id>.json`.
    pub fn file_name(&self) -> String {
        format!("{self}.json")
    }
}

impl FromStr for RunId {
    type Err = ReceiptError;

    fn from_str(input: &str) -> Result<RunId, ReceiptError> {
        let bad = || ReceiptError::BadRunId {
            input: input.to_string(),
        };
        let hyphenated_shape = input.len() == 36
            && input.char_indices().all(|(index, c)| match index {
                8 | 13 | 18 | 23 => c == '-',
                _ => c.is_ascii_hexdigit(),
            });
        if !hyphenated_shape {
            return Err(bad());
        }
        uuid::Uuid::parse_str(input).map(RunId).map_err(|_| bad())
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_are_v4_and_round_trip() {
        let id = RunId::new();
        assert_eq!(id.as_uuid().get_version_num(), 4);
        let text = id.to_string();
        assert_eq!(text.len(), 36);
        assert_eq!(text.parse::<RunId>().unwrap(), id);
        assert_eq!(id.file_name(), format!("{text}.json"));
    }

    #[test]
    fn uppercase_is_normalised() {
        let id: RunId = "67E55044-10B1-426F-9247-BB680E5FE0C8".parse().unwrap();
        assert_eq!(id.to_string(), "67e55044-10b1-426f-9247-bb680e5fe0c8");
        assert!(!RunId::is_canonical("67E55044-10B1-426F-9247-BB680E5FE0C8"));
        assert!(RunId::is_canonical(&id.to_string()));
        assert!(!RunId::is_canonical("67e55044-10b1-426f-9247-bb680e5fe0c"));
    }

    #[test]
    fn any_version_is_read() {
        for text in [
            "00000000-0000-0000-0000-000000000000",
            "6ba7b810-9dad-11d1-80b4-00c04fd430c8",
            "01890a5d-ac96-774b-bcce-b302099a8057",
        ] {
            assert_eq!(text.parse::<RunId>().unwrap().to_string(), text);
        }
    }

    #[test]
    fn everything_else_is_rejected_with_the_input_named() {
        for input in [
            "",
            "../x",
            "x.json",
            "../etc/passwd",
            "67e5504410b1426f9247bb680e5fe0c8",
            "{67e55044-10b1-426f-9247-bb680e5fe0c8}",
            "urn:uuid:67e55044-10b1-426f-9247-bb680e5fe0c8",
            "67e55044-10b1-426f-9247-bb680e5fe0c8.json",
            " 67e55044-10b1-426f-9247-bb680e5fe0c8",
            "67e55044-10b1-426f-9247-bb680e5fe0c",
            "67e55044-10b1-426f-9247-bb680e5fe0cg",
            "67e55044_10b1_426f_9247_bb680e5fe0c8",
            "67e5504-410b1-426f-9247-bb680e5fe0c8",
        ] {
            let error = input.parse::<RunId>().unwrap_err().to_string();
            assert!(error.contains(&format!("`{input}`")), "{error}");
            assert!(error.contains("hyphenated"), "{error}");
        }
    }
}
