//! wrk as the load generator: its Lua scripts (a fresh `Idempotency-Key` per single event; a fixed
//! batch of 100), which count *accepted* answers themselves — a 202 for a single event, the
//! `accepted` total of each batch answer — and print one JSON line at the end that this module
//! reads (no scraping of wrk's text report).

use std::{path::Path, time::Duration};

use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};
use tokio::process::Command;

/// Shared by every script: per-thread counters summed in `done`, printed as one JSON line.
const COMMON: &str = r#"
local threads = {}
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end
function done(summary, latency, requests)
  local accepted = 0
  for _, t in ipairs(threads) do accepted = accepted + (t:get("accepted") or 0) end
  local e = summary.errors
  io.write(string.format('BENCH_JSON {"requests":%d,"duration_us":%d,"accepted":%d,"status_errors":%d,"socket_errors":%d,"p50_us":%.1f,"p99_us":%.1f}\n',
    summary.requests, summary.duration, accepted, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"#;

/// One ~300-byte event per request, each with a fresh Idempotency-Key; a 202 counts as accepted.
const SINGLE: &str = r#"
function init(args)
  key = os.getenv("PULSE_KEY")
  counter = 0
  accepted = 0
  prefix = string.format("%s-%d-", os.getenv("PULSE_RUN"), id)
  text = string.rep("x", 200)
end
function request()
  counter = counter + 1
  local body = '{"event_type":"bench.single","payload":{"n":' .. counter .. ',"text":"' .. text .. '"}}'
  return wrk.format("POST", "/events", {["X-API-Key"] = key, ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = prefix .. counter}, body)
end
function response(status, headers, body)
  if status == 202 then accepted = accepted + 1 end
end
"#;

/// `{"events":[…100…]}` per request; the answer's `accepted` total is what counts.
const BATCH: &str = r#"
function init(args)
  key = os.getenv("PULSE_KEY")
  accepted = 0
  local items = {}
  for i = 1, 100 do
    items[i] = '{"event_type":"bench.batch","payload":{"i":' .. i .. ',"text":"' .. string.rep("x", 200) .. '"}}'
  end
  body = '{"events":[' .. table.concat(items, ",") .. ']}'
end
function request()
  return wrk.format("POST", "/events/batch", {["X-API-Key"] = key, ["Content-Type"] = "application/json"}, body)
end
function response(status, headers, body)
  if status == 200 then
    local n = string.match(body, '"accepted":(%d+)')
    if n then accepted = accepted + tonumber(n) end
  end
end
"#;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Script {
    Single,
    Batch,
}

impl Script {
    fn text(self) -> String {
        let body = match self {
            Script::Single => SINGLE,
            Script::Batch => BATCH,
        };
        format!("{COMMON}{body}")
    }

    fn name(self) -> &'static str {
        match self {
            Script::Single => "single",
            Script::Batch => "batch",
        }
    }
}

/// What one wrk run measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WrkRun {
    /// Requests answered (any status).
    pub requests: u64,
    /// Events accepted, counted from the answers.
    pub accepted: u64,
    /// Non-2xx/3xx answers.
    pub non2xx: u64,
    pub socket_errors: u64,
    pub seconds: f64,
    /// Requests per second (any answer).
    pub rps: f64,
    /// Accepted events per second.
    pub accepted_per_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

#[derive(Deserialize)]
struct Done {
    requests: u64,
    duration_us: u64,
    accepted: u64,
    status_errors: u64,
    socket_errors: u64,
    p50_us: f64,
    p99_us: f64,
}

/// Where wrk's scripts are written.
pub fn write_scripts(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    for s in [Script::Single, Script::Batch] {
        std::fs::write(dir.join(format!("{}.lua", s.name())), s.text())?;
    }
    Ok(())
}

/// A run of `wrk -t2 -c<connections> -d<seconds>s` against `url`; `run_id` keeps idempotency
/// keys unique across runs.
pub async fn run(
    dir: &Path,
    script: Script,
    url: &str,
    key: &str,
    seconds: u64,
    connections: u32,
    run_id: &str,
) -> anyhow::Result<WrkRun> {
    let path = dir.join(format!("{}.lua", script.name()));
    let fut = Command::new("wrk")
        .arg("-t2")
        .arg(format!("-c{connections}"))
        .arg(format!("-d{seconds}s"))
        .arg("--timeout")
        .arg("10s")
        .arg("-s")
        .arg(&path)
        .arg(url)
        .env("PULSE_KEY", key)
        .env("PULSE_RUN", run_id)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(seconds + 60), fut)
        .await
        .context("wrk did not finish")?
        .context("running wrk (apt-get install wrk; `make bench` installs it)")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let Some(line) = stdout.lines().find_map(|l| l.strip_prefix("BENCH_JSON ")) else {
        bail!(
            "wrk printed no result ({}): {stdout}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let d: Done = serde_json::from_str(line).with_context(|| format!("wrk result {line}"))?;
    let seconds = d.duration_us as f64 / 1e6;
    Ok(WrkRun {
        requests: d.requests,
        accepted: d.accepted,
        non2xx: d.status_errors,
        socket_errors: d.socket_errors,
        seconds,
        rps: d.requests as f64 / seconds.max(1e-9),
        accepted_per_s: d.accepted as f64 / seconds.max(1e-9),
        p50_ms: d.p50_us / 1000.0,
        p99_ms: d.p99_us / 1000.0,
    })
}
