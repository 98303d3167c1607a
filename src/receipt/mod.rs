//! Receipts: the model, canonical JSON, signing, verification and the stores they live in.

pub mod model;

pub use model::*;
