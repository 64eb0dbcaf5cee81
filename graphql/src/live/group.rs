//! The processor group's members and the partitions each is assigned, from the group coordinator
//! (`DescribeGroups` through librdkafka's group list).

use std::time::Duration;

use async_graphql::SimpleObject;
use rdkafka::consumer::{BaseConsumer, Consumer};
use serde::Serialize;

/// One member of the processor group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, SimpleObject)]
#[graphql(name = "GroupMember")]
pub struct Member {
    pub member_id: String,
    pub client_id: String,
    pub host: String,
    /// Partitions of the raw topic assigned to it
    pub partitions: Vec<i32>,
}

/// The members of `group` with their partitions of `topic` (empty when the group has none).
pub(crate) fn members(
    consumer: &BaseConsumer,
    group: &str,
    topic: &str,
    timeout: Duration,
) -> rdkafka::error::KafkaResult<Vec<Member>> {
    let list = consumer.fetch_group_list(Some(group), timeout)?;
    let mut members: Vec<Member> = list
        .groups()
        .iter()
        .filter(|g| g.name() == group)
        .flat_map(|g| g.members())
        .map(|m| Member {
            member_id: m.id().to_owned(),
            client_id: m.client_id().to_owned(),
            host: m.client_host().trim_start_matches('/').to_owned(),
            partitions: m
                .assignment()
                .map(|a| assigned_partitions(a, topic))
                .unwrap_or_default(),
        })
        .collect();
    members.sort_by(|a, b| a.member_id.cmp(&b.member_id));
    Ok(members)
}

/// The partitions of `topic` in a consumer protocol assignment (every version starts with
/// `version: int16, [topic: string(int16 length), partitions: [int32]]`); what cannot be read is
/// left out rather than guessed.
fn assigned_partitions(bytes: &[u8], topic: &str) -> Vec<i32> {
    let mut reader = Reader(bytes);
    let mut out = Vec::new();
    let Some(_version) = reader.i16() else {
        return out;
    };
    let Some(topics) = reader.i32() else {
        return out;
    };
    for _ in 0..topics.max(0) {
        let Some(name) = reader.string() else {
            break;
        };
        let Some(count) = reader.i32() else {
            break;
        };
        for _ in 0..count.max(0) {
            let Some(partition) = reader.i32() else {
                break;
            };
            if name == topic.as_bytes() {
                out.push(partition);
            }
        }
    }
    out.sort_unstable();
    out
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Some(head)
    }

    fn i16(&mut self) -> Option<i16> {
        Some(i16::from_be_bytes(self.take(2)?.try_into().ok()?))
    }

    fn i32(&mut self) -> Option<i32> {
        Some(i32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }

    fn string(&mut self) -> Option<&'a [u8]> {
        let len = usize::try_from(self.i16()?).ok()?;
        self.take(len)
    }
}

#[cfg(test)]
mod tests {
    use super::assigned_partitions;

    fn assignment(topics: &[(&str, &[i32])]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend(1i16.to_be_bytes());
        b.extend((topics.len() as i32).to_be_bytes());
        for (name, parts) in topics {
            b.extend((name.len() as i16).to_be_bytes());
            b.extend(name.as_bytes());
            b.extend((parts.len() as i32).to_be_bytes());
            for p in *parts {
                b.extend(p.to_be_bytes());
            }
        }
        b.extend((-1i32).to_be_bytes()); // no user data
        b
    }

    #[test]
    fn reads_the_partitions_of_the_watched_topic() {
        let bytes = assignment(&[("other", &[7]), ("events.raw", &[4, 0, 2])]);
        assert_eq!(assigned_partitions(&bytes, "events.raw"), vec![0, 2, 4]);
        assert_eq!(assigned_partitions(&bytes, "other"), vec![7]);
        assert!(assigned_partitions(&bytes, "missing").is_empty());
    }

    #[test]
    fn truncated_assignments_yield_what_could_be_read() {
        let bytes = assignment(&[("events.raw", &[1, 3])]);
        assert_eq!(
            assigned_partitions(&bytes[..bytes.len() - 8], "events.raw"),
            vec![1]
        );
        assert!(assigned_partitions(&[0], "events.raw").is_empty());
    }
}
