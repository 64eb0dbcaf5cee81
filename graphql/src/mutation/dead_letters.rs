//! `replayDeadLetters` and `discardDeadLetters`: the same code path as `pulse dlq replay`
//! (`pulse_core::admin::dead_letters`). A replay publishes with the operation's trace context, so
//! the replayed events' traces continue the request's.

use async_graphql::{Context, Object};
use pulse_core::admin::dead_letters::{self, ReplayEdit};
use serde_json::json;
use uuid::Uuid;

use super::audited;
use crate::{
    errors::ApiError,
    model::{DeadLetterFilter, DiscardResult, ReplayResult},
    services::Services,
};

#[derive(Default)]
pub struct DeadLetterMutation;

/// The selection of a bulk action: ids, a filter, or both (both must match).
fn selection(
    ids: Option<Vec<Uuid>>,
    filter: Option<&DeadLetterFilter>,
) -> Result<dead_letters::DeadLetterFilter, ApiError> {
    if ids.is_none() && filter.is_none() {
        return Err(ApiError::bad_input("give ids or a filter"));
    }
    let mut core = filter.map_or_else(Default::default, |f| f.to_core(f.tenant_id));
    core.event_ids = ids;
    Ok(core)
}

#[Object]
impl DeadLetterMutation {
    /// Republishes pending dead letters (by event ids, or by filter) to events.raw with their
    /// original event id. `body` replaces the body (exactly one id); `patch` is an RFC 7396 JSON
    /// merge patch applied to each body. `dryRun` changes nothing and reports what would be
    /// replayed.
    async fn replay_dead_letters(
        &self,
        ctx: &Context<'_>,
        ids: Option<Vec<Uuid>>,
        filter: Option<DeadLetterFilter>,
        #[graphql(default = false)] dry_run: bool,
        body: Option<serde_json::Value>,
        patch: Option<serde_json::Value>,
    ) -> async_graphql::Result<ReplayResult> {
        // the corrected body or patch may hold data: the audit log records only that one was given
        let args = json!({ "ids": ids, "filter": filter_json(filter.as_ref()), "dryRun": dry_run,
            "body": body.is_some(), "patch": patch.is_some() });
        let services = Services::of(ctx);
        let (report, audit_id) = audited(ctx, "replayDeadLetters", args, || async {
            let selection = selection(ids, filter.as_ref())?;
            let edit = ReplayEdit { body, patch };
            dead_letters::replay(
                &services.pool,
                &services.replayer,
                &selection,
                &edit,
                dry_run,
            )
            .await
            .map_err(ApiError::from)
        })
        .await?;
        Ok(ReplayResult {
            dry_run,
            matched: report.selected as i32,
            replayed: report.replayed as i32,
            event_ids: report.event_ids,
            audit_id,
        })
    }

    /// Marks pending dead letters as discarded: they will not be replayed.
    async fn discard_dead_letters(
        &self,
        ctx: &Context<'_>,
        ids: Option<Vec<Uuid>>,
        filter: Option<DeadLetterFilter>,
        #[graphql(default = false)] dry_run: bool,
    ) -> async_graphql::Result<DiscardResult> {
        let args = json!({ "ids": ids, "filter": filter_json(filter.as_ref()), "dryRun": dry_run });
        let pool = &Services::of(ctx).pool;
        let (report, audit_id) = audited(ctx, "discardDeadLetters", args, || async {
            let selection = selection(ids, filter.as_ref())?;
            dead_letters::discard(pool, &selection, dry_run)
                .await
                .map_err(ApiError::from)
        })
        .await?;
        Ok(DiscardResult {
            dry_run,
            matched: report.selected as i32,
            discarded: report.discarded as i32,
            event_ids: report.event_ids,
            audit_id,
        })
    }
}

fn filter_json(filter: Option<&DeadLetterFilter>) -> serde_json::Value {
    filter.map_or(serde_json::Value::Null, |f| {
        json!({
            "tenantId": f.tenant_id,
            "reasons": f.reasons.as_ref().map(|r| r.iter().map(|r| format!("{r:?}")).collect::<Vec<_>>()),
            "status": f.status.map(|s| format!("{s:?}")),
            "path": f.path,
            "from": f.from,
            "to": f.to,
        })
    })
}
