//! `AuditEntry`: one recorded operator action.

use async_graphql::SimpleObject;
use chrono::{DateTime, Utc};
use pulse_core::admin::audit;
use uuid::Uuid;

use super::PageInfo;

/// One operator action (every mutation, refused ones too).
#[derive(SimpleObject, Clone, Debug)]
pub struct AuditEntry {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    /// admin, or tenant:<tenant id>
    pub actor: String,
    pub action: String,
    /// The mutation's arguments, secrets removed
    pub arguments: serde_json::Value,
    /// ok, or the error code
    pub result: String,
    pub trace_id: Option<String>,
}

impl From<audit::AuditEntry> for AuditEntry {
    fn from(a: audit::AuditEntry) -> Self {
        Self {
            id: a.id,
            at: a.at,
            actor: a.actor,
            action: a.action,
            arguments: a.arguments,
            result: a.result,
            trace_id: a.trace_id,
        }
    }
}

/// A page of the audit log.
#[derive(SimpleObject, Clone, Debug)]
pub struct AuditConnection {
    pub edges: Vec<AuditEdge>,
    pub nodes: Vec<AuditEntry>,
    pub page_info: PageInfo,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct AuditEdge {
    pub cursor: String,
    pub node: AuditEntry,
}
