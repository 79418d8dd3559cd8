//! The values that cross the wire: REST API bodies and server-function results. Storage rows
//! and domain internals never derive `Serialize`; these do.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What a user may do, as Grafana users know it. Ordered: Viewer < Editor < Admin.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Role {
    /// Reads everything.
    Viewer,
    /// Also changes dashboards, rules and checklists.
    Editor,
    /// Also manages users, teams, data sources, channels and settings.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Editor, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "Viewer",
            Role::Editor => "Editor",
            Role::Admin => "Admin",
        }
    }

    /// Accepts `Viewer`/`viewer` etc.
    pub fn parse(s: &str) -> Result<Role, String> {
        match s.to_ascii_lowercase().as_str() {
            "viewer" => Ok(Role::Viewer),
            "editor" => Ok(Role::Editor),
            "admin" => Ok(Role::Admin),
            _ => Err(format!("`{s}` is not a role; use Viewer, Editor or Admin")),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The signed-in user as the pages see it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionUser {
    pub id: i64,
    pub login: String,
    pub name: String,
    pub role: Role,
    /// `de` or `en`.
    pub language: String,
    /// Present for cookie sessions: send it as `X-CSRF-Token` (or form field `csrf_token`)
    /// with every change.
    pub csrf_token: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UserView {
    pub id: i64,
    pub login: String,
    pub name: String,
    pub role: Role,
    pub disabled: bool,
    pub created_at: String,
    /// `de` or `en`: the language of checklist texts.
    pub language: String,
    pub teams: Vec<TeamRef>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TeamRef {
    pub id: i64,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TeamView {
    pub id: i64,
    pub name: String,
    pub created_at: String,
    pub members: Vec<MemberView>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MemberView {
    pub id: i64,
    pub login: String,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TokenView {
    pub id: i64,
    pub name: String,
    pub role: Role,
    /// `["ingest"]`: may only push metrics. Empty: acts with `role` everywhere.
    #[serde(default)]
    pub scopes: Vec<String>,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
    pub revoked: bool,
}

/// A token right after creation: the only time its secret is shown.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub info: TokenView,
    pub token: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: String,
    pub actor_id: Option<i64>,
    pub actor_login: String,
    pub actor_role: String,
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub correlation_id: String,
    pub client_addr: String,
}

/// A metrics data source as pickers list it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SourceOption {
    pub id: i64,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub url: String,
    #[serde(default)]
    pub default: bool,
    /// `metrics`, `logs` or `traces` (absent: metrics, as every source before families).
    #[serde(default = "metrics")]
    pub family: String,
}

fn metrics() -> String {
    "metrics".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_and_parsed_in_any_case() {
        assert!(Role::Viewer < Role::Editor && Role::Editor < Role::Admin);
        assert_eq!(Role::parse("editor"), Ok(Role::Editor));
        assert_eq!(Role::parse("Admin"), Ok(Role::Admin));
        assert!(Role::parse("root")
            .unwrap_err()
            .contains("Viewer, Editor or Admin"));
    }
}
