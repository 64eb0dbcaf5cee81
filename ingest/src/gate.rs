//! The per-request admission check: rate limit and idempotency reservation together, in one Redis
//! round trip (one Lua script), exact across any number of ingest instances.
//!
//! Rate limiting is GCRA (the generic cell rate algorithm): one timestamp per tenant, a steady
//! rate of `limit` per minute with a burst of up to `limit`, so any 60-second sliding window admits
//! at most about `limit` events. It uses Redis' clock (`TIME`), so instances' clocks do not matter.
//!
//! Idempotency keys live at `idem:{tenant}:{key}` as `p|<fingerprint>|<event_id>` while the
//! publish is in flight and `c|<fingerprint>|<event_id>` once the broker acknowledged it. A failed
//! publish deletes its own reservation, so the client's retry is not mistaken for a duplicate.
//!
//! When Redis is down, requests without idempotency keys fall back to a per-process limiter (and
//! the `pulse.rate_limit.fallback` counter); requests with keys get 503.

use std::{num::NonZeroU32, sync::Arc, time::Duration};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use opentelemetry::metrics::Counter;
use redis::{Script, aio::ConnectionManager};
use uuid::Uuid;

use crate::error::IngestError;

const GATE_LUA: &str = r#"
-- KEYS[1]: rate-limit key; KEYS[2..]: idempotency keys
-- ARGV[1]: emission interval (µs per event); ARGV[2]: window (µs); ARGV[3]: cost (events)
-- ARGV[4]: reservation ttl (ms); then per idempotency key: item index, fingerprint, event id
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local room = math.floor((window - (tat - now)) / interval + 1e-6)
if room < 0 then room = 0 end
local allowed = math.min(cost, room)
if allowed > 0 then
  tat = tat + allowed * interval
  redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000) + 1000)
end
local remaining = math.floor((window - (tat - now)) / interval + 1e-6)
if remaining < 0 then remaining = 0 end
local retry_ms = 0
if allowed < cost then retry_ms = math.ceil((tat + interval - now - window) / 1000) end
local out = { allowed, remaining, math.ceil((tat - now) / 1000), retry_ms }
local rttl = tonumber(ARGV[4])
for i = 2, #KEYS do
  local base = 4 + (i - 2) * 3
  local idx = tonumber(ARGV[base + 1])
  if idx >= allowed then
    out[#out + 1] = 'limited'; out[#out + 1] = ''
  else
    local fp = ARGV[base + 2]
    local id = ARGV[base + 3]
    -- reserve unless present, and read what was there: one call (SET … NX GET, Redis >= 7)
    local cur = redis.call('SET', KEYS[i], 'p|' .. fp .. '|' .. id, 'NX', 'GET', 'PX', rttl)
    if not cur then
      out[#out + 1] = 'new'; out[#out + 1] = id
    else
      local state, cfp, cid = string.match(cur, '^(%a)|([^|]*)|(.*)$')
      if cfp ~= fp then out[#out + 1] = 'mismatch'; out[#out + 1] = ''
      elseif state == 'c' then out[#out + 1] = 'done'; out[#out + 1] = cid
      else out[#out + 1] = 'pending'; out[#out + 1] = cid end
    end
  end
end
return out
"#;

const RELEASE_LUA: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"#;

/// An item of the request that carries an idempotency key.
#[derive(Debug, Clone)]
pub struct KeyedItem {
    /// Position of the item in the request (0 for single events).
    pub index: usize,
    pub key: String,
    /// Hash of the item's body: the same key with another body is a conflict.
    pub fingerprint: String,
    /// The id the event gets if this reservation is new.
    pub event_id: Uuid,
}

/// What the idempotency store says about one keyed item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdemOutcome {
    /// Reserved for this request: publish, then complete or release.
    New,
    /// Completed earlier with the same body: answer with this event id.
    Duplicate(Uuid),
    /// Another request with this key is still publishing.
    InFlight,
    /// The key was used with a different body.
    Mismatch,
    /// The item was not admitted by the rate limiter, so nothing was reserved.
    Limited,
}

/// The gate's answer for one request.
#[derive(Debug, Clone)]
pub struct Decision {
    /// How many of the request's events (in order) fit in the tenant's limit.
    pub allowed: u32,
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the full limit is available again.
    pub reset_secs: u64,
    /// When the first event that did not fit may be retried.
    pub retry_after: Duration,
    /// One outcome per keyed item, in the order given.
    pub idempotency: Vec<IdemOutcome>,
}

/// Rate limiter and idempotency store.
#[derive(Clone)]
pub struct Gate {
    redis: ConnectionManager,
    gate: Arc<Script>,
    release: Arc<Script>,
    prefix: Arc<str>,
    timeout: Duration,
    reservation_ttl: Duration,
    fallback: moka::sync::Cache<(Uuid, u32), Arc<DefaultDirectRateLimiter>>,
    fallback_used: Counter<u64>,
}

impl Gate {
    pub fn new(
        redis: ConnectionManager,
        prefix: &str,
        timeout: Duration,
        reservation_ttl: Duration,
    ) -> Self {
        Self {
            redis,
            gate: Arc::new(Script::new(GATE_LUA)),
            release: Arc::new(Script::new(RELEASE_LUA)),
            prefix: prefix.into(),
            timeout,
            reservation_ttl,
            fallback: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_idle(Duration::from_secs(600))
                .build(),
            fallback_used: pulse_otel::meter()
                .u64_counter(pulse_otel::names::metric::RATE_LIMIT_FALLBACK)
                .with_description("Requests rate-limited in-process because Redis was unavailable")
                .build(),
        }
    }

    fn rate_key(&self, tenant: Uuid) -> String {
        format!("{}rl:{tenant}:gcra", self.prefix)
    }

    fn idem_key(&self, tenant: Uuid, key: &str) -> String {
        format!("{}idem:{tenant}:{key}", self.prefix)
    }

    /// Admits up to `cost` events for `tenant` and reserves the keyed items among them.
    pub async fn check(
        &self,
        tenant: Uuid,
        limit_per_minute: u32,
        cost: u32,
        keyed: &[KeyedItem],
    ) -> Result<Decision, IngestError> {
        let limit = limit_per_minute.max(1);
        let interval_us = 60_000_000.0 / f64::from(limit);
        let mut invocation = self.gate.key(self.rate_key(tenant));
        for item in keyed {
            invocation.key(self.idem_key(tenant, &item.key));
        }
        invocation
            .arg(interval_us)
            .arg(60_000_000u64)
            .arg(cost)
            .arg(self.reservation_ttl.as_millis() as u64);
        for item in keyed {
            invocation
                .arg(item.index)
                .arg(&item.fingerprint)
                .arg(item.event_id.to_string());
        }
        let mut conn = self.redis.clone();
        let reply = tokio::time::timeout(
            self.timeout,
            invocation.invoke_async::<Vec<redis::Value>>(&mut conn),
        )
        .await;
        let values = match reply {
            Ok(Ok(values)) => values,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "redis gate failed");
                return self.fallback(tenant, limit, cost, keyed);
            }
            Err(_) => {
                tracing::warn!(
                    timeout_ms = self.timeout.as_millis() as u64,
                    "redis gate timed out"
                );
                return self.fallback(tenant, limit, cost, keyed);
            }
        };
        parse_decision(&values, limit, keyed.len()).ok_or_else(|| {
            tracing::error!("redis gate returned an unexpected reply");
            IngestError::IdempotencyUnavailable
        })
    }

    fn fallback(
        &self,
        tenant: Uuid,
        limit: u32,
        cost: u32,
        keyed: &[KeyedItem],
    ) -> Result<Decision, IngestError> {
        if !keyed.is_empty() {
            return Err(IngestError::IdempotencyUnavailable);
        }
        self.fallback_used.add(1, &[]);
        let nz = NonZeroU32::new(limit).unwrap_or(NonZeroU32::MIN);
        let limiter = self.fallback.get_with((tenant, limit), || {
            Arc::new(RateLimiter::direct(Quota::per_minute(nz)))
        });
        let mut allowed = 0;
        while allowed < cost && limiter.check().is_ok() {
            allowed += 1;
        }
        let interval = Duration::from_secs_f64(60.0 / f64::from(limit));
        Ok(Decision {
            allowed,
            limit,
            remaining: 0,
            reset_secs: 60,
            retry_after: if allowed < cost {
                interval
            } else {
                Duration::ZERO
            },
            idempotency: Vec::new(),
        })
    }

    /// Marks a reservation completed with its event id, for the tenant's idempotency window.
    pub async fn complete(&self, tenant: Uuid, item: &KeyedItem, ttl: Duration) {
        self.complete_all(tenant, &[item], ttl).await;
    }

    /// Marks reservations completed, all in one pipelined round trip (a batch's keys).
    pub async fn complete_all(&self, tenant: Uuid, items: &[&KeyedItem], ttl: Duration) {
        if items.is_empty() {
            return;
        }
        let mut pipe = redis::pipe();
        for item in items {
            pipe.cmd("SET")
                .arg(self.idem_key(tenant, &item.key))
                .arg(format!("c|{}|{}", item.fingerprint, item.event_id))
                .arg("EX")
                .arg(ttl.as_secs().max(1))
                .ignore();
        }
        let mut conn = self.redis.clone();
        match tokio::time::timeout(self.timeout, pipe.exec_async(&mut conn)).await {
            Ok(Ok(())) => {}
            // the events are in Kafka already; a retry may publish one again, which the
            // processor's (tenant_id, event_id) key cannot catch, so say so loudly
            Ok(Err(e)) => {
                tracing::error!(error = %e, keys = items.len(), "completing idempotency keys failed")
            }
            Err(_) => tracing::error!(keys = items.len(), "completing idempotency keys timed out"),
        }
    }

    /// Drops a reservation after a failed publish, if it is still ours.
    pub async fn release(&self, tenant: Uuid, item: &KeyedItem) {
        let value = format!("p|{}|{}", item.fingerprint, item.event_id);
        let mut conn = self.redis.clone();
        let mut invocation = self.release.key(self.idem_key(tenant, &item.key));
        invocation.arg(value);
        let call = invocation.invoke_async::<i64>(&mut conn);
        // on failure the reservation simply expires after its ttl
        match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "releasing idempotency key failed"),
            Err(_) => tracing::warn!("releasing idempotency key timed out"),
        }
    }
}

fn parse_decision(values: &[redis::Value], limit: u32, keyed: usize) -> Option<Decision> {
    let int = |i: usize| -> Option<i64> {
        match values.get(i)? {
            redis::Value::Int(n) => Some(*n),
            _ => None,
        }
    };
    let text = |i: usize| -> Option<String> {
        match values.get(i)? {
            redis::Value::BulkString(b) => String::from_utf8(b.clone()).ok(),
            redis::Value::SimpleString(s) => Some(s.clone()),
            _ => None,
        }
    };
    let mut idempotency = Vec::with_capacity(keyed);
    for k in 0..keyed {
        let state = text(4 + 2 * k)?;
        let id = text(5 + 2 * k)?;
        idempotency.push(match state.as_str() {
            "new" => IdemOutcome::New,
            "done" => IdemOutcome::Duplicate(Uuid::parse_str(&id).ok()?),
            "pending" => IdemOutcome::InFlight,
            "mismatch" => IdemOutcome::Mismatch,
            _ => IdemOutcome::Limited,
        });
    }
    Some(Decision {
        allowed: u32::try_from(int(0)?).ok()?,
        limit,
        remaining: u32::try_from(int(1)?).unwrap_or(0),
        reset_secs: (int(2)?.max(0) as u64).div_ceil(1000),
        retry_after: Duration::from_millis(int(3)?.max(0) as u64),
        idempotency,
    })
}
