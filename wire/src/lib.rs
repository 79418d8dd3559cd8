//! The documents the server and the app exchange, typed once for both: the native dashboard
//! document, rule groups as Prometheus rule files write them, and the checklist's bodies
//! and answers.
//! The app edits these types and the server validates the same ones; checks that need no
//! server state live here, so the editor can show the server's own messages before a save.
//!
//! Only serde and serde_json: this crate builds for wasm32 and never links anything of the
//! server.

pub mod checklist;
pub mod dashboard;
pub mod duration;
pub mod rules;

use std::fmt;

/// A field of a document that is wrong: its JSON path (`panels[2].grid.w`) and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for FieldError {}
