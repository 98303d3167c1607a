//! The Enact policy language: parsing, checking, evaluating, formatting and testing `.enact`
//! files, and the built-in library compiled into the binary.

pub mod analysis;
pub mod ast;
pub mod builtins;
pub mod checker;
pub mod diagnostic;
pub mod eval;
pub mod format;
pub mod library;
pub mod matching;
mod parser;
pub mod program;
pub mod render;
pub mod source;
pub mod testing;
pub mod types;
pub mod value;

pub use parser::{Parsed, parse, parse_expression};
