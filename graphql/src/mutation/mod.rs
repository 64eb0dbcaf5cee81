//! Mutation root fields (admin only). Every call, refused ones included, writes one `audit_log`
//! row through [`audited`]: who, which mutation, its arguments without secrets, `ok` or the
//! error code, and the operation's trace id.

mod dead_letters;
mod schemas;
mod tenants;

use async_graphql::Context;
use opentelemetry::trace::TraceContextExt as _;
use pulse_core::admin::audit::{self, NewAuditEntry};
use uuid::Uuid;

pub use self::{
    dead_letters::DeadLetterMutation, schemas::SchemaMutation, tenants::TenantMutation,
};
use crate::{
    auth::{require_admin, scope},
    errors::ApiError,
    services::Services,
};

/// Runs `action` if the caller is the admin and records the attempt in the audit log. Returns
/// the result and the audit row's id.
pub(crate) async fn audited<T, F, Fut>(
    ctx: &Context<'_>,
    name: &str,
    arguments: serde_json::Value,
    action: F,
) -> async_graphql::Result<(T, Option<Uuid>)>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<T, ApiError>>,
{
    let result = match require_admin(ctx) {
        Ok(()) => action().await,
        Err(e) => Err(e),
    };
    let outcome = match &result {
        Ok(_) => "ok",
        Err(e) => e.code.as_str(),
    };
    let trace_id = current_trace_id();
    let entry = NewAuditEntry {
        actor: &scope(ctx).actor(),
        action: name,
        arguments: &arguments,
        result: outcome,
        trace_id: trace_id.as_deref(),
    };
    let audit_id = match audit::append(&Services::of(ctx).pool, &entry).await {
        Ok(id) => Some(id),
        Err(e) => {
            // the action happened (or was refused) either way; say so loudly, but answer it
            tracing::error!(error = %e, action = name, "writing the audit log failed");
            None
        }
    };
    Ok((result?, audit_id))
}

/// The trace id of the current operation's span, if it is recorded.
fn current_trace_id() -> Option<String> {
    let cx = opentelemetry::Context::current();
    let span = cx.span();
    let sc = span.span_context();
    sc.is_valid().then(|| sc.trace_id().to_string())
}
