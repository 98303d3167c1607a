//! Finds the line and column of a value in a YAML text by its path (`steps[2].with.repo`).
//!
//! YAML values carry no positions once deserialised; only serde_yaml's errors do, at the start
//! of the value being read when the error was raised. So a probe walks the document along the
//! path, skipping everything else, and raises an error at the target: the error's position is
//! the answer. Used for the checks that need the whole workflow (step order, declared inputs).

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// One step of a path into a YAML document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    Key(String),
    Index(usize),
}

impl Segment {
    pub fn key(key: &str) -> Segment {
        Segment::Key(key.to_string())
    }
}

/// Renders a path as users write it: `steps[0].with.repo`.
pub(crate) fn display(path: &[Segment]) -> String {
    let mut out = String::new();
    for segment in path {
        match segment {
            Segment::Key(key) if out.is_empty() => out.push_str(key),
            Segment::Key(key) => {
                out.push('.');
                out.push_str(key);
            }
            Segment::Index(index) => out.push_str(&format!("[{index}]")),
        }
    }
    out
}

const FOUND: &str = "\u{1f}enact-locate-found";

/// The 1-based line and column where the value at `path` starts, if the text has one there.
pub(crate) fn locate(text: &str, path: &[Segment]) -> Option<(usize, usize)> {
    let deserializer = serde_yaml::Deserializer::from_str(text);
    match (Probe { path }).deserialize(deserializer) {
        Err(error) if error.to_string().contains(FOUND) => {
            error.location().map(|l| (l.line(), l.column()))
        }
        _ => None,
    }
}

struct Probe<'p> {
    path: &'p [Segment],
}

impl<'de> DeserializeSeed<'de> for Probe<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl Probe<'_> {
    fn found<E: de::Error>(&self) -> Result<(), E> {
        if self.path.is_empty() {
            Err(E::custom(FOUND))
        } else {
            Ok(())
        }
    }
}

impl<'de> Visitor<'de> for Probe<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.found()
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.found()
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.found()
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.found()
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.found()
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.found()
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.found()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let (first, rest) = match self.path.split_first() {
            None => return Err(de::Error::custom(FOUND)),
            Some((Segment::Index(index), rest)) => (*index, rest),
            Some((Segment::Key(_), _)) => return Ok(()),
        };
        let mut index = 0;
        loop {
            if index == first {
                return seq.next_element_seed(Probe { path: rest }).map(|_| ());
            }
            if seq.next_element::<IgnoredAny>()?.is_none() {
                return Ok(());
            }
            index += 1;
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (wanted, rest) = match self.path.split_first() {
            None => return Err(de::Error::custom(FOUND)),
            Some((Segment::Key(key), rest)) => (key.as_str(), rest),
            Some((Segment::Index(_), _)) => return Ok(()),
        };
        while let Some(key) = map.next_key::<serde_yaml::Value>()? {
            let matches = match &key {
                serde_yaml::Value::String(s) => s == wanted,
                other => serde_yaml::to_string(other).is_ok_and(|s| s.trim_end() == wanted),
            };
            if matches {
                return map.next_value_seed(Probe { path: rest });
            }
            map.next_value::<IgnoredAny>()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str, path: &[Segment]) -> Option<(usize, usize)> {
        locate(text, path)
    }

    #[test]
    fn finds_block_and_flow_values() {
        let text = "name: x\nsteps:\n  - id: a\n    with: { repo: \"r\", n: 2 }\n  - id: b\n";
        assert_eq!(at(text, &[Segment::key("name")]), Some((1, 7)));
        assert_eq!(
            at(text, &[Segment::key("steps"), Segment::Index(1)]),
            Some((5, 5))
        );
        assert_eq!(
            at(
                text,
                &[
                    Segment::key("steps"),
                    Segment::Index(0),
                    Segment::key("with"),
                    Segment::key("n")
                ]
            ),
            Some((4, 27))
        );
        assert_eq!(at(text, &[Segment::key("nothing")]), None);
        assert_eq!(at(text, &[Segment::key("steps"), Segment::Index(7)]), None);
    }

    #[test]
    fn displays_paths_as_written() {
        let path = [
            Segment::key("steps"),
            Segment::Index(2),
            Segment::key("with"),
            Segment::key("repo"),
        ];
        assert_eq!(display(&path), "steps[2].with.repo");
    }
}
