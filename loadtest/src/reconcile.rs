//! The end-of-run check behind Pulse's headline guarantee: every event ingest accepted ends up
//! exactly once in PostgreSQL, in the right table, and duplicates add nothing. Waits for the
//! processor to drain, reads the rows for the recorded ids ([`crate::lookup`]), and classifies
//! each id. An id the processor recorded as an alias (its idempotency key was held by another
//! event, e.g. after Redis lost the key and ingest answered a retry with a new id) is accounted
//! for once: "stored as a duplicate of X".

use std::{
    collections::{HashMap, HashSet},
    fmt::Write as _,
    time::Duration,
};

use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

pub use crate::lookup::{Drain, Found, Place};
use crate::{
    ledger::{Kind, LedgerSnapshot},
    lookup,
};

/// The dead-letter reason an event without `event_type` must get.
pub const EXPECTED_REASON: &str = "missing_field";
/// How many individual problems are kept for the report.
const MAX_PROBLEMS: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("querying PostgreSQL failed")]
    Database(#[from] sqlx::Error),
}

/// The columns of the reconciliation table, in the text and the HTML report alike.
pub const COLUMNS: [&str; 9] = [
    "kind",
    "sent",
    "accepted",
    "unexpected",
    "stored",
    "dead-lettered",
    "missing",
    "duplicated",
    "wrong place",
];

/// One line of the table. Duplicates' `stored` and `dead_lettered` count distinct originals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    pub sent: u64,
    pub accepted: u64,
    pub unexpected: u64,
    pub stored: u64,
    pub dead_lettered: u64,
    pub missing: u64,
    pub duplicated: u64,
    pub wrong_place: u64,
    /// Ids recorded as aliases of another event with the same idempotency key (in neither
    /// `stored` nor `dead_lettered`; said in the verdict line).
    pub aliased: u64,
}

impl Row {
    fn add(&mut self, other: &Row) {
        self.sent += other.sent;
        self.accepted += other.accepted;
        self.unexpected += other.unexpected;
        self.stored += other.stored;
        self.dead_lettered += other.dead_lettered;
        self.missing += other.missing;
        self.duplicated += other.duplicated;
        self.wrong_place += other.wrong_place;
        self.aliased += other.aliased;
    }
}

/// One event id that broke the guarantee.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    pub kind: Kind,
    pub event_id: Uuid,
    pub what: String,
}

/// The outcome of the check, written to a run's `reconciliation.json` (which `make bench` reads
/// back).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Reconciliation {
    /// One row per kind, in [`Kind::ALL`] order.
    pub rows: Vec<(Kind, Row)>,
    pub problems: Vec<Problem>,
    pub problem_count: u64,
    pub drain: Drain,
}

impl Reconciliation {
    pub fn total(&self) -> Row {
        let mut total = Row::default();
        for (_, row) in &self.rows {
            total.add(row);
        }
        total
    }

    pub fn row(&self, kind: Kind) -> Row {
        self.rows
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, r)| *r)
            .unwrap_or_default()
    }

    /// New events ingest accepted: a duplicate's answer replays an earlier event, not a new one.
    pub fn new_events_accepted(&self) -> u64 {
        self.total().accepted - self.row(Kind::Duplicate).accepted
    }

    pub fn lost(&self) -> u64 {
        self.total().missing
    }

    pub fn duplicated(&self) -> u64 {
        self.total().duplicated
    }

    /// No event lost, doubled or misplaced.
    pub fn is_clean(&self) -> bool {
        let t = self.total();
        t.missing == 0 && t.duplicated == 0 && t.wrong_place == 0
    }

    /// The aligned text table, a verdict line and the first problems.
    pub fn table(&self) -> String {
        let mut lines: Vec<Vec<String>> = vec![COLUMNS.iter().map(|h| h.to_string()).collect()];
        for (kind, row) in &self.rows {
            lines.push(cells(kind.name(), row, *kind != Kind::Malformed));
        }
        lines.push(cells("total", &self.total(), true));
        let widths: Vec<usize> = (0..COLUMNS.len())
            .map(|c| lines.iter().map(|l| l[c].len()).max().unwrap_or(0))
            .collect();
        let mut out = String::new();
        for line in &lines {
            let mut text = format!("{:<w$}", line[0], w = widths[0]);
            for (cell, w) in line.iter().zip(&widths).skip(1) {
                let _ = write!(text, "  {cell:>w$}");
            }
            out.push_str(text.trim_end());
            out.push('\n');
        }
        let _ = writeln!(out, "{}", self.verdict());
        for p in &self.problems {
            let _ = writeln!(out, "  {} {}: {}", p.kind.name(), p.event_id, p.what);
        }
        if self.problem_count > self.problems.len() as u64 {
            let _ = writeln!(
                out,
                "  ... and {} more",
                self.problem_count - self.problems.len() as u64
            );
        }
        out
    }

    pub fn verdict(&self) -> String {
        let t = self.total();
        let drain = if self.drain.drained {
            format!("drained in {:.1}s", self.drain.waited.as_secs_f64())
        } else {
            format!(
                "NOT drained: {} ids still had no row after {:.1}s",
                self.drain.pending,
                self.drain.waited.as_secs_f64()
            )
        };
        let aliased = match t.aliased {
            0 => String::new(),
            n => format!(
                "; {n} as the alias of an earlier event with the same idempotency key, not stored again"
            ),
        };
        if self.is_clean() {
            format!(
                "reconciliation OK: every accepted event stored exactly once ({drain}{aliased})"
            )
        } else {
            format!(
                "reconciliation FAILED: {} missing, {} duplicated, {} in the wrong place ({drain}{aliased})",
                t.missing, t.duplicated, t.wrong_place
            )
        }
    }
}

fn cells(label: &str, row: &Row, checked: bool) -> Vec<String> {
    let checked_cell = |v: u64| if checked { v.to_string() } else { "-".into() };
    vec![
        label.to_owned(),
        row.sent.to_string(),
        row.accepted.to_string(),
        row.unexpected.to_string(),
        checked_cell(row.stored),
        checked_cell(row.dead_lettered),
        checked_cell(row.missing),
        checked_cell(row.duplicated),
        checked_cell(row.wrong_place),
    ]
}

/// Every id the run expects a row for: accepted events and the originals of duplicates.
pub fn expected_ids(snapshot: &LedgerSnapshot) -> Vec<Uuid> {
    let ids: HashSet<Uuid> = snapshot
        .accepted
        .iter()
        .map(|a| a.event_id)
        .chain(snapshot.duplicates.iter().copied())
        .collect();
    ids.into_iter().collect()
}

/// Classifies every recorded id given the rows found for them. `tenant_ids` maps the ledger's
/// tenant indexes to tenant ids.
pub fn classify(snapshot: &LedgerSnapshot, tenant_ids: &[Uuid], found: &[Found]) -> Reconciliation {
    let rows_of = rows_by_id(found);
    let mut rows: Vec<(Kind, Row)> = Kind::ALL
        .iter()
        .map(|k| {
            let c = snapshot.counts(*k);
            (
                *k,
                Row {
                    sent: c.sent,
                    unexpected: c.unexpected,
                    ..Row::default()
                },
            )
        })
        .collect();
    let mut problems = Problems::default();
    let mut issued: HashSet<Uuid> = HashSet::with_capacity(snapshot.accepted.len());

    for a in &snapshot.accepted {
        let row = &mut rows[a.kind.index()].1;
        row.accepted += 1;
        if !issued.insert(a.event_id) {
            // two requests got one id: only one of them can have a row
            row.missing += 1;
            problems.push(
                a.kind,
                a.event_id,
                "event id answered to two requests".into(),
            );
            continue;
        }
        let found = rows_of
            .get(&a.event_id)
            .map(Vec::as_slice)
            .unwrap_or_default();
        count_places(row, found);
        let expected_tenant = tenant_ids.get(usize::from(a.tenant)).copied();
        match found {
            [] => {
                row.missing += 1;
                problems.push(
                    a.kind,
                    a.event_id,
                    "no row in events or dead_letters".into(),
                );
            }
            [only] => {
                if let Some(what) = misplaced(a.kind, only, expected_tenant) {
                    row.wrong_place += 1;
                    problems.push(a.kind, a.event_id, what);
                }
            }
            more => {
                row.duplicated += 1;
                problems.push(a.kind, a.event_id, format!("{} rows", more.len()));
            }
        }
    }

    let duplicates = &mut rows[Kind::Duplicate.index()].1;
    duplicates.accepted = snapshot.duplicates.len() as u64;
    let originals: HashSet<Uuid> = snapshot.duplicates.iter().copied().collect();
    for id in originals {
        let found = rows_of.get(&id).map(Vec::as_slice).unwrap_or_default();
        count_places(duplicates, found);
        match found.len() {
            0 => {
                duplicates.missing += 1;
                problems.push(Kind::Duplicate, id, "original has no row".into());
            }
            1 => {}
            n => {
                duplicates.duplicated += 1;
                problems.push(Kind::Duplicate, id, format!("original has {n} rows"));
            }
        }
    }

    Reconciliation {
        rows,
        problem_count: problems.count,
        problems: problems.first,
        drain: Drain::default(),
    }
}

/// The rows per id that count: a replayed dead letter beside its stored event is history, not a
/// second copy.
fn rows_by_id(found: &[Found]) -> HashMap<Uuid, Vec<&Found>> {
    let mut by_id: HashMap<Uuid, Vec<&Found>> = HashMap::new();
    for f in found {
        by_id.entry(f.event_id).or_default().push(f);
    }
    for rows in by_id.values_mut() {
        if rows.iter().any(|f| f.place == Place::Events) {
            rows.retain(|f| !matches!(f.place, Place::DeadLetters { replayed: true, .. }));
        }
    }
    by_id
}

fn count_places(row: &mut Row, found: &[&Found]) {
    if found.iter().any(|f| f.place == Place::Events) {
        row.stored += 1;
    }
    if found
        .iter()
        .any(|f| matches!(f.place, Place::DeadLetters { .. }))
    {
        row.dead_lettered += 1;
    }
    if found.iter().any(|f| matches!(f.place, Place::Alias { .. })) {
        row.aliased += 1;
    }
}

/// Why a single row is not where an event of `kind` belongs, if it is not.
fn misplaced(kind: Kind, found: &Found, tenant: Option<Uuid>) -> Option<String> {
    if tenant.is_some_and(|t| t != found.tenant_id) {
        return Some(format!("stored under tenant {}", found.tenant_id));
    }
    match (&found.place, kind.expects_dead_letter()) {
        // the event it duplicates has its own row (and, when it was accepted, its own check)
        (Place::Alias { .. }, _) => None,
        (Place::Events, false) => None,
        (Place::DeadLetters { reason, .. }, true) if reason == EXPECTED_REASON => None,
        (Place::DeadLetters { reason, .. }, true) => {
            Some(format!("dead-lettered as {reason}, not {EXPECTED_REASON}"))
        }
        (Place::DeadLetters { reason, .. }, false) => {
            Some(format!("valid event dead-lettered as {reason}"))
        }
        (Place::Events, true) => Some("invalid event stored in events".into()),
    }
}

#[derive(Default)]
struct Problems {
    first: Vec<Problem>,
    count: u64,
}

impl Problems {
    fn push(&mut self, kind: Kind, event_id: Uuid, what: String) {
        self.count += 1;
        if self.first.len() < MAX_PROBLEMS {
            self.first.push(Problem {
                kind,
                event_id,
                what,
            });
        }
    }
}

/// Waits for the processor, then checks every recorded id.
pub async fn reconcile(
    pool: &PgPool,
    snapshot: &LedgerSnapshot,
    tenant_ids: &[Uuid],
    patience: Duration,
    progress: impl FnMut(usize, usize) -> bool,
) -> Result<Reconciliation, ReconcileError> {
    let ids = expected_ids(snapshot);
    let drain = lookup::wait_for_drain(pool, &ids, tenant_ids, patience, progress).await?;
    let found = lookup::fetch(pool, &ids, tenant_ids).await?;
    let mut reconciliation = classify(snapshot, tenant_ids, &found);
    reconciliation.drain = drain;
    Ok(reconciliation)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{Accepted, KindCounts};

    fn tenants() -> Vec<Uuid> {
        vec![Uuid::now_v7(), Uuid::now_v7()]
    }

    fn accepted(kind: Kind, tenant: u16) -> Accepted {
        Accepted {
            event_id: Uuid::now_v7(),
            tenant,
            kind,
        }
    }

    fn stored(a: &Accepted, tenants: &[Uuid]) -> Found {
        Found {
            event_id: a.event_id,
            tenant_id: tenants[usize::from(a.tenant)],
            place: Place::Events,
        }
    }

    fn dead(a: &Accepted, tenants: &[Uuid], reason: &str) -> Found {
        Found {
            event_id: a.event_id,
            tenant_id: tenants[usize::from(a.tenant)],
            place: Place::DeadLetters {
                reason: reason.into(),
                replayed: false,
            },
        }
    }

    fn snapshot(accepted: Vec<Accepted>, duplicates: Vec<Uuid>) -> LedgerSnapshot {
        let mut s = LedgerSnapshot {
            accepted,
            duplicates,
            ..LedgerSnapshot::default()
        };
        for a in &s.accepted {
            s.counts[a.kind.index()].sent += 1;
        }
        s.counts[Kind::Duplicate.index()].sent = s.duplicates.len() as u64;
        s.counts[Kind::Malformed.index()] = KindCounts {
            sent: 3,
            answered_as_expected: 3,
            unexpected: 0,
        };
        s
    }

    #[test]
    fn everything_in_its_place_is_clean() {
        let t = tenants();
        let valid = accepted(Kind::Valid, 0);
        let invalid = accepted(Kind::Invalid, 1);
        let batch = accepted(Kind::Batch, 1);
        let s = snapshot(
            vec![valid, invalid, batch],
            vec![valid.event_id, valid.event_id],
        );
        let found = vec![
            stored(&valid, &t),
            dead(&invalid, &t, "missing_field"),
            stored(&batch, &t),
        ];
        let r = classify(&s, &t, &found);
        assert!(r.is_clean(), "{}", r.table());
        assert_eq!(r.row(Kind::Valid).stored, 1);
        assert_eq!(r.row(Kind::Invalid).dead_lettered, 1);
        let dup = r.row(Kind::Duplicate);
        assert_eq!((dup.sent, dup.accepted, dup.stored), (2, 2, 1));
        assert_eq!(r.row(Kind::Malformed).sent, 3);
        assert_eq!(r.total().accepted, 5);
        assert!(r.problems.is_empty());
    }

    #[test]
    fn missing_doubled_and_misplaced_are_each_counted() {
        let t = tenants();
        let lost = accepted(Kind::Valid, 0);
        let doubled = accepted(Kind::Valid, 0);
        let valid_in_dlq = accepted(Kind::Batch, 0);
        let invalid_stored = accepted(Kind::Invalid, 1);
        let wrong_reason = accepted(Kind::Invalid, 1);
        let wrong_tenant = accepted(Kind::Valid, 0);
        let s = snapshot(
            vec![
                lost,
                doubled,
                valid_in_dlq,
                invalid_stored,
                wrong_reason,
                wrong_tenant,
            ],
            vec![doubled.event_id],
        );
        let mut elsewhere = stored(&wrong_tenant, &t);
        elsewhere.tenant_id = t[1];
        let found = vec![
            stored(&doubled, &t),
            dead(&doubled, &t, "missing_field"),
            dead(&valid_in_dlq, &t, "invalid_type"),
            stored(&invalid_stored, &t),
            dead(&wrong_reason, &t, "invalid_value"),
            elsewhere,
        ];
        let r = classify(&s, &t, &found);
        assert!(!r.is_clean());
        assert_eq!(r.lost(), 1);
        let valid = r.row(Kind::Valid);
        assert_eq!(
            (valid.missing, valid.duplicated, valid.wrong_place),
            (1, 1, 1)
        );
        assert_eq!((valid.stored, valid.dead_lettered), (2, 1));
        assert_eq!(r.row(Kind::Batch).wrong_place, 1);
        assert_eq!(r.row(Kind::Invalid).wrong_place, 2);
        assert_eq!(r.row(Kind::Duplicate).duplicated, 1);
        assert_eq!(r.duplicated(), 2);
        assert_eq!(r.problem_count, 7);
        assert!(r.problems.iter().any(|p| p.event_id == lost.event_id));
        let table = r.table();
        assert!(
            table.contains("reconciliation FAILED: 1 missing, 2 duplicated, 4 in the wrong place")
        );
    }

    #[test]
    fn a_replayed_dead_letter_beside_its_event_is_not_a_copy() {
        let t = tenants();
        let a = accepted(Kind::Valid, 0);
        let mut replayed = dead(&a, &t, "schema_violation");
        replayed.place = Place::DeadLetters {
            reason: "schema_violation".into(),
            replayed: true,
        };
        let r = classify(&snapshot(vec![a], vec![]), &t, &[replayed, stored(&a, &t)]);
        assert!(r.is_clean(), "{}", r.table());
    }

    #[test]
    fn an_alias_is_accounted_for_once_and_an_alias_beside_a_row_is_a_copy() {
        let t = tenants();
        let original = accepted(Kind::Valid, 0);
        let retry = accepted(Kind::Valid, 0);
        let alias = Found {
            event_id: retry.event_id,
            tenant_id: t[0],
            place: Place::Alias {
                original: original.event_id,
            },
        };
        let s = snapshot(vec![original, retry], vec![]);
        let r = classify(&s, &t, &[stored(&original, &t), alias.clone()]);
        assert!(r.is_clean(), "{}", r.table());
        let valid = r.row(Kind::Valid);
        assert_eq!((valid.stored, valid.aliased), (1, 1));
        assert!(
            r.verdict()
                .contains("1 as the alias of an earlier event with the same idempotency key"),
            "{}",
            r.verdict()
        );

        let r = classify(&s, &t, &[stored(&original, &t), alias, stored(&retry, &t)]);
        assert_eq!(r.duplicated(), 1, "{}", r.table());
    }

    #[test]
    fn one_id_for_two_requests_loses_one() {
        let t = tenants();
        let a = accepted(Kind::Valid, 0);
        let r = classify(&snapshot(vec![a, a], vec![]), &t, &[stored(&a, &t)]);
        assert_eq!(r.lost(), 1);
    }

    #[test]
    fn table_is_aligned() {
        let t = tenants();
        let a = accepted(Kind::Valid, 0);
        let mut r = classify(&snapshot(vec![a], vec![]), &t, &[stored(&a, &t)]);
        r.drain = Drain {
            drained: true,
            pending: 0,
            waited: Duration::from_millis(1500),
        };
        let table = r.table();
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[0].starts_with("kind "));
        assert!(lines[0].ends_with("wrong place"));
        // header, five kinds, total, verdict
        assert_eq!(lines.len(), 8);
        let width = lines[0].len();
        assert!(lines[1..7].iter().all(|l| l.len() == width), "{table}");
        assert!(lines[3].starts_with("malformed") && lines[3].ends_with('-'));
        assert_eq!(
            lines[7],
            "reconciliation OK: every accepted event stored exactly once (drained in 1.5s)"
        );
    }

    #[test]
    fn expected_ids_are_distinct() {
        let a = accepted(Kind::Valid, 0);
        let s = snapshot(vec![a], vec![a.event_id, a.event_id]);
        assert_eq!(expected_ids(&s), vec![a.event_id]);
    }
}
