//! One record produced and consumed through the real Kafka, headers included, on topics created
//! by Pulse's own idempotent topic creation.

use std::time::Duration;

use pulse_core::{kafka, testkit};
use rdkafka::{
    Message,
    consumer::{Consumer, StreamConsumer},
    message::{Header, Headers, OwnedHeaders},
    producer::{FutureProducer, FutureRecord},
};

#[tokio::test]
async fn record_round_trips_with_headers() {
    let brokers = testkit::kafka_brokers();
    let topic = testkit::TestTopic::new("roundtrip");
    kafka::ensure_topics(&brokers, &[(&topic, 3)])
        .await
        .expect("create topic");
    // creating again is a no-op, not an error
    kafka::ensure_topics(&brokers, &[(&topic, 3)])
        .await
        .expect("idempotent");

    let producer: FutureProducer = kafka::client_config(&brokers)
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .create()
        .unwrap();
    let headers = OwnedHeaders::new()
        .insert(Header {
            key: "pulse-tenant-id",
            value: Some("tenant-1"),
        })
        .insert(Header {
            key: "traceparent",
            value: Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
        });
    let delivery = producer
        .send(
            FutureRecord::to(&topic)
                .key("k-1")
                .payload(r#"{"hello":"kafka"}"#)
                .headers(headers),
            Duration::from_secs(10),
        )
        .await
        .map_err(|(e, _)| e)
        .expect("broker acknowledged");
    let delivered = (delivery.partition, delivery.offset);

    let consumer: StreamConsumer = kafka::client_config(&brokers)
        .set("group.id", testkit::unique("test-group-"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    consumer.subscribe(&[&topic]).unwrap();
    let msg = tokio::time::timeout(Duration::from_secs(30), consumer.recv())
        .await
        .expect("a record within 30 s")
        .expect("no consumer error");
    assert_eq!((msg.partition(), msg.offset()), delivered);
    assert_eq!(msg.key(), Some(&b"k-1"[..]));
    assert_eq!(
        msg.payload_view::<str>().unwrap().unwrap(),
        r#"{"hello":"kafka"}"#
    );
    let headers = msg.headers().expect("headers");
    let got: Vec<(String, String)> = headers
        .iter()
        .map(|h| {
            (
                h.key.to_owned(),
                String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("pulse-tenant-id".to_owned(), "tenant-1".to_owned()),
            (
                "traceparent".to_owned(),
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".to_owned()
            )
        ]
    );
}
