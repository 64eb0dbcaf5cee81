//! The tables `pulse tenant list`, `pulse dlq list` and `pulse schema list` print for people.

use pulse_core::{
    Tenant,
    admin::{dead_letters::DeadLetter, schemas::EventSchema},
};

use crate::table::{self, opt, time};

pub fn tenants(tenants: &[Tenant]) -> String {
    let rows: Vec<Vec<String>> = tenants
        .iter()
        .map(|t| {
            vec![
                t.name.clone(),
                t.id.to_string(),
                format!("{}…", t.api_key_prefix),
                t.rate_limit_per_minute.to_string(),
                format!("{}s", t.idempotency_ttl_seconds),
                if t.disabled_at.is_some() {
                    "disabled"
                } else {
                    "active"
                }
                .to_owned(),
                time(t.created_at),
            ]
        })
        .collect();
    table::render(
        &[
            "NAME",
            "ID",
            "KEY",
            "RATE/MIN",
            "IDEMPOTENCY",
            "STATUS",
            "CREATED",
        ],
        &rows,
    )
}

pub fn dead_letters(letters: &[DeadLetter]) -> String {
    let rows: Vec<Vec<String>> = letters
        .iter()
        .map(|d| {
            let first = d.errors().into_iter().next();
            vec![
                d.event_id.to_string(),
                opt(d.tenant.as_deref()),
                d.reason.clone(),
                opt(first.map(|e| e.path)),
                d.status.clone(),
                d.attempts.to_string(),
                time(d.failed_at),
            ]
        })
        .collect();
    table::render(
        &[
            "EVENT ID", "TENANT", "REASON", "PATH", "STATUS", "ATTEMPTS", "FAILED",
        ],
        &rows,
    )
}

pub fn schemas(schemas: &[EventSchema]) -> String {
    let rows: Vec<Vec<String>> = schemas
        .iter()
        .map(|s| vec![s.tenant.clone(), s.event_type.clone(), time(s.updated_at)])
        .collect();
    table::render(&["TENANT", "EVENT TYPE", "UPDATED"], &rows)
}
