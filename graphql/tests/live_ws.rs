//! The live half of the API as a client sees it: `pulse graphql` in-process on port 0, its own
//! database and topics, GraphQL over WebSocket with both subprotocols, and `pipeline` over HTTP.
//!
//! (Its size: one file is one test binary, and every binary is another link of the whole
//! dependency tree on CI's two cores; the tests share one harness and read best together.)

mod live_support;

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use live_support::{
    ADMIN_TOKEN, LEGACY_WS, Said, Service, TRANSPORT_WS, Topics, Ws, produce_dead_letter,
    produce_event, produce_keyed, producer, tenant,
};
use pulse_core::{envelope::DlqReason, testkit::TestDb};
use rdkafka::producer::FutureProducer;
use serde_json::{Value, json};
use uuid::Uuid;

const EVENTS: &str = "subscription($f: LiveEventFilter) { events(filter: $f) { eventId tenantId \
                      eventType status kafkaTopic kafkaPartition kafkaOffset traceId missedBefore } }";

fn admin_init() -> Value {
    json!({ "Authorization": format!("Bearer {ADMIN_TOKEN}") })
}

struct Stack {
    db: TestDb,
    topics: Topics,
    service: Service,
    producer: FutureProducer,
}

impl Stack {
    async fn start(tweak: impl FnOnce(&mut pulse_graphql::Config)) -> Self {
        let db = TestDb::new().await;
        let topics = Topics::new().await;
        let service = Service::start(&db, &topics, tweak).await;
        Self {
            db,
            topics,
            service,
            producer: producer(),
        }
    }

    async fn event(&self, tenant: Uuid, event_type: &str) -> Uuid {
        produce_event(
            &self.producer,
            &self.topics.raw,
            tenant,
            event_type,
            json!({"n": 1}),
        )
        .await
    }

    /// Writes events of `tenant` and `event_type` until subscription `id` on `ws` delivers one:
    /// from then on the subscription is registered and the tail reads everything written.
    /// Returns how many were written and how many of them are still to come (written after the
    /// one delivered: probes share a partition key, so they are read in the order written, and
    /// those written before the subscription existed never come).
    async fn probe(&self, ws: &mut Ws, id: &str, tenant: Uuid, event_type: &str) -> (usize, usize) {
        let mut written = Vec::new();
        for _ in 0..60 {
            let key = Some("probe");
            let payload = json!({});
            written.push(
                produce_keyed(
                    &self.producer,
                    &self.topics.raw,
                    key,
                    tenant,
                    event_type,
                    payload,
                )
                .await,
            );
            if let Some(result) = ws.next_result_within(id, Duration::from_millis(500)).await {
                let got: Uuid = event_of(&result)["eventId"]
                    .as_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                let at = written
                    .iter()
                    .position(|w| *w == got)
                    .expect("one of the probes");
                return (written.len(), written.len() - at - 1);
            }
        }
        panic!("subscription {id} never delivered a probe");
    }
}

/// The event of a subscription result.
fn event_of(result: &Value) -> &Value {
    assert!(result.get("errors").is_none(), "{result}");
    &result["data"]["events"]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_without_valid_credentials_is_closed_and_unusable() {
    let stack = Stack::start(|c| c.live.ws.init_timeout = Duration::from_millis(500)).await;
    for protocol in [TRANSPORT_WS, LEGACY_WS] {
        // no credentials: 4401
        let mut ws = stack.service.ws(protocol).await;
        match ws.init(json!({})).await {
            Said::Closed(code) => assert_eq!(code, Some(4401), "{protocol}"),
            Said::Json(v) => {
                assert_eq!(v["type"], "connection_error", "{protocol}: {v}");
                assert!(protocol == LEGACY_WS);
                assert_eq!(ws.close_code().await, Some(4401));
            }
        }

        // credentials that do not check out: 4403, whatever the key's spelling
        for payload in [
            json!({ "X-API-Key": "pulse_not_a_key" }),
            json!({ "authorization": "Bearer wrong-admin-token" }),
            json!({ "Authorization": "Basic abc" }),
        ] {
            let mut ws = stack.service.ws(protocol).await;
            ws.send(json!({"type": "connection_init", "payload": payload}))
                .await;
            assert_eq!(ws.close_code().await, Some(4403), "{protocol} {payload}");
        }

        // a subscription before connection_init: 4401, and it is never run
        let mut ws = stack.service.ws(protocol).await;
        ws.subscribe("1", EVENTS, json!({})).await;
        assert_eq!(ws.close_code().await, Some(4401), "{protocol}");

        // nothing within the init timeout: 4408
        let mut ws = stack.service.ws(protocol).await;
        assert_eq!(ws.close_code().await, Some(4408), "{protocol}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_receives_the_events_of_its_filter_on_both_protocols() {
    let stack = Stack::start(|_| {}).await;
    for protocol in [TRANSPORT_WS, LEGACY_WS] {
        let mut ws = stack.service.ws(protocol).await;
        ws.init_ok(admin_init()).await;
        let filter = json!({"f": {"eventTypes": ["order.created"]}});
        ws.subscribe("orders", EVENTS, filter).await;
        let t = Uuid::new_v4();
        stack.probe(&mut ws, "orders", t, "order.created").await;

        let skipped = stack.event(t, "user.signed_up").await;
        let wanted = stack.event(t, "order.created").await;
        let result = ws.next_result("orders").await;
        let event = event_of(&result);
        assert_eq!(
            event["eventId"],
            wanted.to_string(),
            "{protocol}, not {skipped}"
        );
        assert_eq!(event["tenantId"], t.to_string());
        assert_eq!(event["eventType"], "order.created");
        assert_eq!(event["status"], "ACCEPTED");
        assert_eq!(event["kafkaTopic"], stack.topics.raw.name());
        assert!(event["kafkaOffset"].as_i64().unwrap() >= 0);
        assert_eq!(event["traceId"], "0af7651916cd43dd8448eb211c80319c");
        assert_eq!(event["missedBefore"], 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_key_only_ever_gets_its_own_tenants_items() {
    let stack = Stack::start(|_| {}).await;
    let (mine, key) = tenant(&stack.db).await;
    let (other, _) = tenant(&stack.db).await;
    let mut ws = stack.service.ws(TRANSPORT_WS).await;
    // the key's name in any case
    ws.init_ok(json!({ "x-api-key": key })).await;

    // naming another tenant is refused
    ws.subscribe("theirs", EVENTS, json!({"f": {"tenantId": other}}))
        .await;
    let refused = ws.next_result("theirs").await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{refused}"
    );

    // no filter: its own tenant only
    ws.subscribe("all", EVENTS, json!({})).await;
    stack.probe(&mut ws, "all", mine, "probe").await;
    stack.event(other, "secret").await;
    let own = stack.event(mine, "own").await;
    let result = ws.next_result("all").await;
    assert_eq!(event_of(&result)["eventId"], own.to_string());

    // the same for dead letters
    let query = "subscription { deadLetters { eventId tenantId reason missedBefore } }";
    ws.subscribe("dlq", query, json!({})).await;
    let mut got = None;
    for _ in 0..60 {
        produce_dead_letter(
            &stack.producer,
            &stack.topics.dlq,
            other,
            DlqReason::InvalidType,
        )
        .await;
        let id = produce_dead_letter(
            &stack.producer,
            &stack.topics.dlq,
            mine,
            DlqReason::MissingField,
        )
        .await;
        if let Some(r) = ws
            .next_result_within("dlq", Duration::from_millis(500))
            .await
        {
            got = Some((id, r));
            break;
        }
    }
    let (_, result) = got.expect("the tenant's dead letters arrive");
    let letter = &result["data"]["deadLetters"];
    assert_eq!(letter["tenantId"], mine.to_string(), "{result}");
    assert_eq!(letter["reason"], "MISSING_FIELD");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_subscriber_is_told_what_it_missed_while_a_fast_one_misses_nothing() {
    let stack = Stack::start(|c| c.live.buffer = 256).await;
    let t = Uuid::new_v4();
    let query = "subscription($f: LiveEventFilter) { events(filter: $f) { eventId eventType \
                 missedBefore payload } }";
    let filter = json!({"f": {"tenantId": t}});
    let mut slow = stack.service.ws(TRANSPORT_WS).await;
    slow.init_ok(admin_init()).await;
    slow.subscribe("s", query, filter.clone()).await;
    let (_, still_to_come) = stack.probe(&mut slow, "s", t, "probe").await;
    // from here on the slow client reads nothing until everything is written

    let mut fast = stack.service.ws(LEGACY_WS).await;
    fast.init_ok(admin_init()).await;
    fast.subscribe("f", query, filter).await;
    let (more_probes, _) = stack.probe(&mut fast, "f", t, "probe").await;
    let fast_bulk = Arc::new(AtomicUsize::new(0));
    let reader = {
        let fast_bulk = fast_bulk.clone();
        tokio::spawn(async move {
            loop {
                // no time limit here: the writer waits for this reader with one
                let result = fast.result_eventually("f").await;
                let event = event_of(&result);
                assert_eq!(
                    event["missedBefore"], 0,
                    "the fast subscriber misses nothing"
                );
                if event["eventType"] == "bulk" {
                    fast_bulk.fetch_add(1, Ordering::AcqRel);
                }
            }
        })
    };

    // ~8 KB per event, well past what the socket buffers of the slow connection hold; written in
    // bursts the fast subscriber reads before the next (a burst is far below the buffer)
    let bulk = 3000;
    let payload = json!({ "blob": "x".repeat(8 * 1024) });
    for burst in 0..bulk / 100 {
        let sends = (0..100).map(|_| {
            produce_event(
                &stack.producer,
                &stack.topics.raw,
                t,
                "bulk",
                payload.clone(),
            )
        });
        futures::future::join_all(sends).await;
        let want = (burst + 1) * 100;
        pulse_core::testkit::eventually(
            "the fast subscriber keeps up",
            Duration::from_secs(30),
            || {
                let n = fast_bulk.load(Ordering::Acquire);
                async move { (n >= want).then_some(()) }
            },
        )
        .await;
    }
    assert_eq!(fast_bulk.load(Ordering::Acquire), bulk);
    reader.abort();

    // the slow client now reads: every item written after its first probe is either received
    // or counted in a missedBefore, exactly
    let expected = still_to_come + more_probes + bulk;
    let (mut received, mut missed) = (0usize, 0usize);
    let mut told = 0;
    while received + missed < expected {
        let Some(result) = slow.next_result_within("s", Duration::from_secs(20)).await else {
            panic!("stalled: received {received} + missed {missed} of {expected} (told {told})");
        };
        let event = event_of(&result);
        let m = event["missedBefore"].as_u64().unwrap() as usize;
        if m > 0 {
            told += 1;
        }
        missed += m;
        received += 1;
    }
    assert!(
        told >= 1 && missed > 0,
        "the slow subscriber was told it missed items"
    );
    assert_eq!(received + missed, expected, "nothing unaccounted for");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_per_connection_are_capped() {
    let stack = Stack::start(|c| c.live.ws.max_subscriptions = 2).await;
    let mut ws = stack.service.ws(TRANSPORT_WS).await;
    ws.init_ok(admin_init()).await;
    ws.subscribe("1", EVENTS, json!({})).await;
    ws.subscribe(
        "2",
        "subscription { throughput(intervalMs: 250) { at } }",
        json!({}),
    )
    .await;
    assert!(ws.next_result("2").await["data"]["throughput"]["at"].is_string());
    ws.subscribe("3", EVENTS, json!({})).await;
    let refused = ws.next_result("3").await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{refused}"
    );
    // stopping one frees its slot
    ws.send(json!({"type": "complete", "id": "2"})).await;
    ws.subscribe("4", EVENTS, json!({})).await;
    let t = Uuid::new_v4();
    stack.probe(&mut ws, "4", t, "probe").await;
}

const PIPELINE: &str = "{ pipeline { topic group totalLag maxLagSeconds partitions { partition \
                        endOffset committedOffset lag lagSeconds } members { memberId clientId \
                        host partitions } rates { at ingestPerSecond processedPerSecond \
                        deadLetteredPerSecond } history(minutes: 60) { at totalLag \
                        maxLagSeconds ingestPerSecond processedPerSecond deadLetteredPerSecond } } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipeline_is_read_by_signed_in_callers_and_its_history_survives_a_restart() {
    let db = TestDb::new().await;
    let topics = Topics::new().await;
    let service = Service::start(&db, &topics, |_| {}).await;
    let p = producer();
    for _ in 0..3 {
        produce_event(&p, &topics.raw, Uuid::new_v4(), "lagging", json!({})).await;
    }
    let admin = ("authorization", format!("Bearer {ADMIN_TOKEN}"));
    let admin = Some((admin.0, admin.1.as_str()));

    // anonymous callers may not read it, admin and tenant keys may
    let anonymous = service.query(None, PIPELINE, json!({})).await;
    assert_eq!(
        anonymous["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{anonymous}"
    );
    let (_, key) = tenant(&db).await;
    let as_tenant = service
        .query(Some(("x-api-key", &key)), PIPELINE, json!({}))
        .await;
    assert!(as_tenant.get("errors").is_none(), "{as_tenant}");

    // no processor: 3 records lag and their age grows
    let lagging = pulse_core::testkit::eventually("3 records lag", Duration::from_secs(30), || {
        let service = &service;
        async move {
            let r = service.query(admin, PIPELINE, json!({})).await;
            let pipeline = r["data"]["pipeline"].clone();
            (pipeline["totalLag"] == 3 && pipeline["maxLagSeconds"].as_f64()? > 0.0)
                .then_some(pipeline)
        }
    })
    .await;
    assert_eq!(lagging["topic"], topics.raw.name());
    assert_eq!(lagging["group"], topics.group);
    assert_eq!(lagging["partitions"].as_array().unwrap().len(), 3);
    assert!(lagging["partitions"][0]["committedOffset"].is_null());
    let first_age = lagging["maxLagSeconds"].as_f64().unwrap();

    // consumerLag and throughput stream the sampler's snapshots at the asked interval
    let mut ws = service.ws(TRANSPORT_WS).await;
    ws.init_ok(admin_init()).await;
    ws.subscribe(
        "lag",
        "subscription { consumerLag(intervalMs: 300) { at totalLag maxLagSeconds \
                        partitions { partition lag lagSeconds } } }",
        json!({}),
    )
    .await;
    ws.subscribe(
        "rates",
        "subscription { throughput { at ingestPerSecond processedPerSecond \
                          deadLetteredPerSecond } }",
        json!({}),
    )
    .await;
    let mut ages = Vec::new();
    while ages.last().is_none_or(|age| *age < first_age + 1.0) {
        let lag = ws.next_result("lag").await;
        assert_eq!(lag["data"]["consumerLag"]["totalLag"], 3, "{lag}");
        ages.push(
            lag["data"]["consumerLag"]["maxLagSeconds"]
                .as_f64()
                .unwrap(),
        );
    }
    assert!(
        ages.windows(2).all(|w| w[0] <= w[1]),
        "the age only grows: {ages:?}"
    );
    let rates = ws.next_result("rates").await;
    assert!(
        rates["data"]["throughput"]["ingestPerSecond"]
            .as_f64()
            .is_some(),
        "{rates}"
    );

    // out-of-range history is refused
    let bad = service
        .query(
            admin,
            "{ pipeline { history(minutes: 1441) { at } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        bad["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{bad}"
    );

    // history survives a restart of the service
    let before =
        pulse_core::testkit::eventually("two samples stored", Duration::from_secs(30), || {
            let service = &service;
            async move {
                let r = service.query(admin, PIPELINE, json!({})).await;
                let history = r["data"]["pipeline"]["history"].as_array()?.clone();
                (history.len() >= 2).then_some(history)
            }
        })
        .await;
    drop(ws);
    service.stop().await;
    let service = Service::start(&db, &topics, |c| {
        c.live.history_every = Duration::from_secs(3600);
    })
    .await;
    let after = service.query(admin, PIPELINE, json!({})).await;
    let history = after["data"]["pipeline"]["history"].as_array().unwrap();
    assert!(history.len() >= before.len(), "{after}");
    assert_eq!(&history[..before.len()], &before[..]);
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_posted_to_ingest_reaches_its_tenants_subscription() {
    let stack = Stack::start(|_| {}).await;
    let (mine, key) = tenant(&stack.db).await;
    let mut config = pulse_ingest::Config::from_env().unwrap();
    config.infra = stack.db.infra();
    config.raw_topic = stack.topics.raw.to_string();
    config.redis_prefix = pulse_core::testkit::unique("live-ingest-");
    config.create_topics = false;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let ingest = listener.local_addr().unwrap();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let serving = tokio::spawn(pulse_ingest::serve(config, listener, shutdown.clone()));
    let http = reqwest::Client::new();
    pulse_core::testkit::eventually("ingest ready", Duration::from_secs(20), || {
        let request = http.get(format!("http://{ingest}/readyz")).send();
        async move { (request.await.ok()?.status() == 200).then_some(()) }
    })
    .await;

    let mut ws = stack.service.ws(TRANSPORT_WS).await;
    ws.init_ok(json!({ "X-API-Key": key })).await;
    ws.subscribe("mine", EVENTS, json!({})).await;
    stack.probe(&mut ws, "mine", mine, "probe").await;

    let response = http
        .post(format!("http://{ingest}/events"))
        .header("x-api-key", &key)
        .json(&json!({"event_type": "checkout.completed", "payload": {"total": 42}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let accepted: Value = response.json().await.unwrap();
    loop {
        let result = ws.next_result("mine").await;
        let event = event_of(&result);
        if event["eventType"] == "probe" {
            continue;
        }
        assert_eq!(event["eventId"], accepted["event_id"], "{result}");
        assert_eq!(event["tenantId"], mine.to_string());
        assert_eq!(event["eventType"], "checkout.completed");
        assert_eq!(event["status"], "ACCEPTED");
        break;
    }
    shutdown.cancel();
    serving.await.unwrap().unwrap();
}
