//! Hostile HTTP over raw TCP against a real ingest: broken framing, huge and many headers, slow
//! and truncated bodies, bad UTF-8, deep nesting, out-of-range numbers, NUL characters, duplicate
//! keys. Every request gets a 4xx (or, for valid-but-odd JSON, a 202), never a 5xx or a dropped
//! connection without an answer; every answer that Pulse writes is JSON with a stable code; and
//! the service answers normally afterwards.
//!
//! Requests so broken that the HTTP parser (hyper) refuses them before Pulse sees them — a bad
//! request line, a malformed header, too many or too large headers, a bad `Content-Length` — are
//! answered by hyper itself with a bare 400 / 414 / 431 and no body: no application code runs, so
//! there is nothing to put in a JSON body. Those are checked for the status only.

mod common;

use std::time::{Duration, Instant};

use common::Harness;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What a case must get.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// A Pulse answer: this status and this JSON error code.
    Json(u16, &'static str),
    /// Accepted: odd but valid JSON objects are the processor's business.
    Accepted,
    /// Refused by the HTTP parser: this status, no body required.
    Framing(u16),
}

struct Case {
    name: &'static str,
    request: Vec<u8>,
    expect: Expect,
}

fn post(key: &str, extra_headers: &[u8], body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "POST /events HTTP/1.1\r\nhost: pulse\r\nx-api-key: {key}\r\ncontent-type: application/json\r\n"
    )
    .into_bytes();
    r.extend_from_slice(extra_headers);
    r.extend_from_slice(
        format!(
            "content-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    r.extend_from_slice(body);
    r
}

fn corpus(key: &str) -> Vec<Case> {
    let deep = format!(
        r#"{{"event_type":"a","payload":{{"x":{}{}}}}}"#,
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let many_headers: String = (0..200).map(|i| format!("x-h{i}: v\r\n")).collect();
    vec![
        Case {
            name: "garbage instead of a request line",
            request: b"HELLO THERE\r\n\r\n".to_vec(),
            expect: Expect::Framing(400),
        },
        Case {
            name: "unknown HTTP version",
            request: b"POST /events HTTP/7.1\r\nhost: x\r\n\r\n".to_vec(),
            expect: Expect::Framing(400),
        },
        Case {
            name: "header line without a colon",
            request: b"POST /events HTTP/1.1\r\nhost x\r\n\r\n".to_vec(),
            expect: Expect::Framing(400),
        },
        Case {
            name: "content-length not a number",
            request: b"POST /events HTTP/1.1\r\nhost: x\r\ncontent-length: abc\r\n\r\n{}".to_vec(),
            expect: Expect::Framing(400),
        },
        Case {
            name: "two different content-lengths",
            request: b"POST /events HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\n{}"
                .to_vec(),
            expect: Expect::Framing(400),
        },
        Case {
            name: "200 headers",
            request: format!("POST /events HTTP/1.1\r\nhost: x\r\n{many_headers}\r\n").into_bytes(),
            expect: Expect::Framing(431),
        },
        Case {
            name: "a 1 MiB header",
            request: format!(
                "POST /events HTTP/1.1\r\nhost: x\r\nx-big: {}\r\n\r\n",
                "a".repeat(1 << 20)
            )
            .into_bytes(),
            expect: Expect::Framing(431),
        },
        Case {
            name: "a 100 KiB path",
            request: format!("GET /{} HTTP/1.1\r\nhost: x\r\n\r\n", "p".repeat(100 * 1024))
                .into_bytes(),
            expect: Expect::Framing(414),
        },
        Case {
            name: "broken chunked encoding",
            request: format!(
                "POST /events HTTP/1.1\r\nhost: x\r\nx-api-key: {key}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\nzz\r\n{{}}\r\n0\r\n\r\n"
            )
            .into_bytes(),
            expect: Expect::Json(400, "invalid_json"),
        },
        Case {
            name: "API key with bytes that are not UTF-8",
            request: {
                let mut r = b"POST /events HTTP/1.1\r\nhost: x\r\nx-api-key: \xff\xfe\xfd\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}".to_vec();
                r.shrink_to_fit();
                r
            },
            expect: Expect::Json(401, "missing_api_key"),
        },
        Case {
            name: "body that is not UTF-8",
            request: post(key, b"", b"{\"event_type\":\"a\",\"payload\":{\"s\":\"\xff\xfe\"}}"),
            expect: Expect::Json(400, "invalid_json"),
        },
        Case {
            name: "JSON nested 10,000 deep",
            request: post(key, b"", deep.as_bytes()),
            expect: Expect::Json(400, "nesting_too_deep"),
        },
        Case {
            name: "a raw NUL byte in the body",
            request: post(key, b"", b"{\"event_type\":\"a\",\0\"payload\":{}}"),
            expect: Expect::Json(400, "invalid_json"),
        },
        Case {
            name: "a NUL escape in a string (valid JSON)",
            request: post(
                key,
                b"",
                br#"{"event_type":"a","payload":{"s":"nul\u0000here"}}"#,
            ),
            expect: Expect::Accepted,
        },
        Case {
            name: "numbers out of range",
            request: post(
                key,
                b"",
                br#"{"event_type":"a","payload":{"big":1e999999,"neg":-1e999999,"int":123456789012345678901234567890}}"#,
            ),
            // valid JSON; PostgreSQL cannot store it, so the processor dead-letters it
            // (tests/hostile_pipeline.rs)
            expect: Expect::Accepted,
        },
        Case {
            name: "duplicate keys",
            request: post(
                key,
                b"",
                br#"{"event_type":"a","event_type":"b","payload":{},"payload":{}}"#,
            ),
            expect: Expect::Accepted,
        },
        Case {
            name: "a lone UTF-16 surrogate escape",
            request: post(key, b"", br#"{"event_type":"a","payload":{"s":"\ud800"}}"#),
            // the JSON grammar allows it; the processor dead-letters what jsonb refuses
            expect: Expect::Accepted,
        },
        Case {
            name: "a NUL byte in the idempotency key",
            request: post(key, b"idempotency-key: a\0b\r\n", br#"{"event_type":"a","payload":{}}"#),
            expect: Expect::Framing(400),
        },
        Case {
            name: "an idempotency key with bytes that are not UTF-8",
            request: post(
                key,
                b"idempotency-key: \xc3\x28\r\n",
                br#"{"event_type":"a","payload":{}}"#,
            ),
            expect: Expect::Json(400, "invalid_idempotency_key"),
        },
        Case {
            name: "a body longer than its content-length",
            request: {
                let mut r = post(key, b"", br#"{"event_type":"a","payload":{}}"#);
                r.extend_from_slice(b"trailing garbage that is the next request");
                r
            },
            expect: Expect::Accepted,
        },
        Case {
            name: "content-type with a NUL-free but absurd charset",
            request: {
                let body = br#"{"event_type":"a","payload":{}}"#;
                format!(
                    "POST /events HTTP/1.1\r\nhost: x\r\nx-api-key: {key}\r\ncontent-type: application/json; charset=ebcdic\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{}",
                    body.len(),
                    String::from_utf8_lossy(body)
                )
                .into_bytes()
            },
            expect: Expect::Accepted,
        },
        Case {
            name: "GET on /events",
            request: b"GET /events HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n".to_vec(),
            expect: Expect::Json(405, "method_not_allowed"),
        },
    ]
}

/// One exchange on a fresh connection: (status, body), or `None` if the server closed the
/// connection without answering.
async fn exchange(addr: std::net::SocketAddr, request: &[u8]) -> Option<(u16, Vec<u8>)> {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    // the server may answer (and close) before it read everything: a write error is fine
    let _ = stream.write_all(request).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
            if whole(&answer) {
                break;
            }
        }
    })
    .await;
    let text = String::from_utf8_lossy(&answer);
    let status = text.split(' ').nth(1)?.parse().ok()?;
    let at = answer.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    Some((status, answer[at..].to_vec()))
}

fn whole(answer: &[u8]) -> bool {
    let Some(at) = answer.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&answer[..at]).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    answer.len() - (at + 4) >= length
}

#[tokio::test]
async fn hostile_requests_get_4xx_json_errors_and_the_service_stays_healthy() {
    let h = Harness::new().await;
    let mut config = h.config();
    config.max_body_bytes = 1 << 20;
    let ingest = h.start(config).await;
    let (_, key) = h.tenant(1_000_000).await;

    let mut failures = Vec::new();
    for case in corpus(key.expose()) {
        let got = exchange(ingest.addr, &case.request).await;
        let Some((status, body)) = got else {
            failures.push(format!("{}: no answer at all", case.name));
            continue;
        };
        let json: Option<Value> = serde_json::from_slice(&body).ok();
        let ok = match case.expect {
            Expect::Json(want, code) => {
                status == want && json.as_ref().is_some_and(|v| v["error"] == code)
            }
            Expect::Accepted => {
                status == 202 && json.as_ref().is_some_and(|v| v["status"] == "accepted")
            }
            Expect::Framing(want) => status == want,
        };
        if status >= 500 || !ok {
            failures.push(format!(
                "{}: expected {:?}, got {status} {}",
                case.name,
                case.expect,
                String::from_utf8_lossy(&body)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // healthy afterwards, and quick about it
    let started = Instant::now();
    let r = h
        .post(&ingest, &key, r#"{"event_type":"a","payload":{}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    assert!(started.elapsed() < Duration::from_secs(2));
    let health = h.http.get(ingest.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    ingest.stop().await;
}

#[tokio::test]
async fn slow_clients_cannot_hold_the_service() {
    let h = Harness::new().await;
    let mut config = h.config();
    config.request_timeout = Duration::from_millis(1000);
    let ingest = h.start(config).await;
    let (_, key) = h.tenant(1_000_000).await;

    // fifty connections trickling a body one byte at a time
    let mut slow = Vec::new();
    for _ in 0..50 {
        let addr = ingest.addr;
        let head = format!(
            "POST /events HTTP/1.1\r\nhost: x\r\nx-api-key: {}\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n",
            key.expose()
        );
        slow.push(tokio::spawn(async move {
            let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
            stream.write_all(head.as_bytes()).await.unwrap();
            for _ in 0..30 {
                if stream.write_all(b" ").await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            let mut answer = Vec::new();
            let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
                .await;
            String::from_utf8_lossy(&answer)
                .split(' ')
                .nth(1)
                .and_then(|s| s.parse::<u16>().ok())
        }));
    }
    // meanwhile, normal clients are served promptly
    for _ in 0..10 {
        let started = Instant::now();
        let r = h
            .post(&ingest, &key, r#"{"event_type":"a","payload":{}}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202);
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "a normal request waited {:?} behind slow clients",
            started.elapsed()
        );
    }
    for s in slow {
        assert_eq!(
            s.await.unwrap(),
            Some(408),
            "a trickling body is cut off at the deadline"
        );
    }
    ingest.stop().await;
}
