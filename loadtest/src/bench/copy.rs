//! The database's ceiling for what the processor does, measured fairly: the rows a drain stored
//! (events *and* dead letters) are taken out with `COPY … TO STDOUT` in PostgreSQL's binary
//! format (the format the processor writes), both tables are emptied, and the same rows go back
//! in batches of the processor's size, one transaction per batch, with as many batches writing at
//! once as the processor has writers. What the processor does besides (validation, per-minute
//! counts, offsets, spans) is its overhead over this ceiling.

use std::{sync::Arc, time::Instant};

use anyhow::{Context as _, bail};
use futures::{StreamExt as _, TryStreamExt as _};
use serde::Serialize;
use sqlx::PgPool;

use super::cpu;

/// The binary COPY header: signature, flags, header-extension length.
const SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";

#[derive(Debug, Clone, Serialize)]
pub struct CopyRun {
    pub events: u64,
    pub dead_letters: u64,
    pub writers: usize,
    pub batch: usize,
    pub seconds: f64,
    /// (events + dead letters) per second.
    pub rows_per_second: f64,
    /// PostgreSQL's CPU per row written.
    pub postgres_cpu_us_per_row: f64,
}

/// One table's rows, each a complete binary tuple.
struct Rows {
    header: Vec<u8>,
    tuples: Vec<std::ops::Range<usize>>,
    data: Vec<u8>,
}

async fn export(pool: &PgPool, table: &str) -> anyhow::Result<Rows> {
    let mut conn = pool.acquire().await?;
    let mut data = Vec::new();
    let mut stream = conn
        .copy_out_raw(&format!("copy {table} to stdout with (format binary)"))
        .await?;
    while let Some(chunk) = stream.try_next().await? {
        data.extend_from_slice(&chunk);
    }
    drop(stream);
    split(data).with_context(|| format!("reading {table}'s binary COPY"))
}

fn split(data: Vec<u8>) -> anyhow::Result<Rows> {
    let i32_at = |at: usize| -> anyhow::Result<i32> {
        let b = data.get(at..at + 4).context("truncated")?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    if !data.starts_with(SIGNATURE) {
        bail!("not a binary COPY stream");
    }
    let ext = i32_at(SIGNATURE.len() + 4)? as usize;
    let mut at = SIGNATURE.len() + 8 + ext;
    let header = data[..at].to_vec();
    let mut tuples = Vec::new();
    loop {
        let b = data.get(at..at + 2).context("truncated")?;
        let fields = i16::from_be_bytes([b[0], b[1]]);
        if fields < 0 {
            break;
        }
        let start = at;
        at += 2;
        for _ in 0..fields {
            let len = i32_at(at)?;
            at += 4 + len.max(0) as usize;
        }
        tuples.push(start..at);
    }
    Ok(Rows {
        header,
        tuples,
        data,
    })
}

impl Rows {
    /// The binary stream of tuples `from..to`.
    fn stream(&self, from: usize, to: usize) -> Vec<u8> {
        let mut out = self.header.clone();
        for r in &self.tuples[from.min(self.tuples.len())..to.min(self.tuples.len())] {
            out.extend_from_slice(&self.data[r.clone()]);
        }
        out.extend_from_slice(&(-1i16).to_be_bytes());
        out
    }
}

/// Re-writes what `events` and `dead_letters` hold, `writers` batches of `batch` rows at a time.
pub async fn fair_copy(db_url: &str, batch: usize, writers: usize) -> anyhow::Result<CopyRun> {
    let pool = pulse_core::db::connect(db_url, writers as u32 + 1).await?;
    let events = export(&pool, "events").await?;
    let dead = export(&pool, "dead_letters").await?;
    sqlx::query("truncate events, dead_letters")
        .execute(&pool)
        .await?;
    let (ne, nd) = (events.tuples.len(), dead.tuples.len());
    let batches = (ne + nd).div_ceil(batch.max(1)).max(1);
    let (per_e, per_d) = (ne.div_ceil(batches), nd.div_ceil(batches));
    // warm connections, so the timing holds only the writes
    let conns: Vec<_> = futures::future::try_join_all((0..writers).map(|_| pool.acquire())).await?;
    drop(conns);
    let rows = Arc::new((events, dead));
    let before = cpu::snapshot(&[]);
    let started = Instant::now();
    let results: Vec<anyhow::Result<()>> = futures::stream::iter(0..batches)
        .map(|b| {
            let (pool, rows) = (pool.clone(), rows.clone());
            async move {
                // each batch's stream is built when its turn comes (not all at once: a 500k-row
                // drain is ~0.5 GB of rows already)
                let ev = rows.0.stream(b * per_e, (b + 1) * per_e);
                let dl = rows.1.stream(b * per_d, (b + 1) * per_d);
                let mut tx = pool.begin().await?;
                for (table, data) in [("events", ev), ("dead_letters", dl)] {
                    let mut copy = tx
                        .copy_in_raw(&format!("copy {table} from stdin with (format binary)"))
                        .await?;
                    for chunk in data.chunks(128 << 10) {
                        copy.send(chunk).await?;
                    }
                    copy.finish().await?;
                }
                tx.commit().await?;
                Ok(())
            }
        })
        .buffer_unordered(writers.max(1))
        .collect()
        .await;
    let seconds = started.elapsed().as_secs_f64();
    let used = before.until(&cpu::snapshot(&[]));
    results.into_iter().collect::<anyhow::Result<Vec<()>>>()?;
    let rows = (ne + nd) as f64;
    Ok(CopyRun {
        events: ne as u64,
        dead_letters: nd as u64,
        writers,
        batch,
        seconds,
        rows_per_second: rows / seconds.max(1e-9),
        postgres_cpu_us_per_row: cpu::round1(
            used.seconds.get("postgres").copied().unwrap_or(0.0) / rows.max(1.0) * 1e6,
        ),
    })
}
