//! The stream's open shards and their hash key ranges, read from `ListShards`, so that an
//! aggregate only holds records that the receiving shard's consumer will keep.

use serde_json::Value;

use crate::core::body;
use crate::core::classify::transport_failure;
use crate::core::config::StreamTarget;
use crate::core::error::{ErrorCode, Failure};
use crate::core::record::parse_hash_key;
use crate::core::response::request_failure;

pub const LIST_SHARDS_TARGET: &str = "Kinesis_20131202.ListShards";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shard {
    pub id: String,
    pub start: u128,
    pub end: u128,
}

impl Shard {
    pub fn contains(&self, hash_key: u128) -> bool {
        (self.start..=self.end).contains(&hash_key)
    }
}

/// Open shards, sorted by the start of their range.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ShardMap {
    shards: Vec<Shard>,
}

impl ShardMap {
    pub fn new(listed: Vec<Shard>) -> Self {
        // Placed one by one rather than sorted: a sort's code is kilobytes of wasm.
        let mut shards: Vec<Shard> = Vec::with_capacity(listed.len());
        for shard in listed {
            let at = shards.partition_point(|s| s.start <= shard.start);
            shards.insert(at, shard);
        }
        Self { shards }
    }

    pub fn len(&self) -> usize {
        self.shards.len()
    }

    pub fn is_empty(&self) -> bool {
        self.shards.is_empty()
    }

    /// Index of the shard whose range holds `hash_key`; `None` in a gap (mid-reshard).
    pub fn lookup(&self, hash_key: u128) -> Option<usize> {
        let after = self.shards.partition_point(|s| s.start <= hash_key);
        let i = after.checked_sub(1)?;
        self.shards[i].contains(hash_key).then_some(i)
    }

    pub fn shard(&self, index: usize) -> Option<&Shard> {
        self.shards.get(index)
    }

    pub fn by_id(&self, id: &str) -> Option<&Shard> {
        self.shards.iter().find(|s| s.id == id)
    }
}

/// The body of a `ListShards` call: the stream for the first page, the token alone after.
/// Written by hand, like the `PutRecords` body: serializing a `serde_json::Value` would link
/// the float formatter into the wasm.
pub fn list_shards_body(target: &StreamTarget, next_token: Option<&str>) -> Vec<u8> {
    let mut fields: Vec<(&str, &str)> = Vec::new();
    match next_token {
        Some(token) => fields.push(("NextToken", token)),
        None => {
            fields.extend(target.name.as_deref().map(|n| ("StreamName", n)));
            fields.extend(target.arn.as_deref().map(|a| ("StreamARN", a)));
        }
    }
    let mut out = b"{".to_vec();
    for (i, (name, value)) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(format!("\"{name}\":\"").as_bytes());
        body::write_escaped(&mut out, value);
        out.push(b'"');
    }
    out.push(b'}');
    out
}

/// One page of a `ListShards` answer: its open shards and the token of the next page.
#[derive(Debug, PartialEq, Eq)]
pub struct Page {
    pub shards: Vec<Shard>,
    pub next_token: Option<String>,
}

pub fn parse_list_shards(
    status: u16,
    error_type_header: Option<&str>,
    body: &[u8],
) -> Result<Page, Failure> {
    if !(200..300).contains(&status) {
        return Err(request_failure(status, error_type_header, body));
    }
    let invalid = || {
        transport_failure(
            ErrorCode::InvalidResponse,
            "ListShards answer is not JSON with a Shards array of hash key ranges",
        )
    };
    let output: Value = serde_json::from_slice(body).map_err(|_| invalid())?;
    let listed = output
        .get("Shards")
        .and_then(Value::as_array)
        .ok_or_else(invalid)?;
    let mut shards = Vec::new();
    for s in listed {
        // A closed shard has an ending sequence number and takes no more records.
        let closed = s
            .get("SequenceNumberRange")
            .and_then(|r| r.get("EndingSequenceNumber"))
            .is_some_and(|v| !v.is_null());
        if closed {
            continue;
        }
        let key = |name: &str| {
            s.get("HashKeyRange")
                .and_then(|r| r.get(name))
                .and_then(Value::as_str)
                .and_then(|k| parse_hash_key(k).ok())
        };
        let (Some(id), Some(start), Some(end)) = (
            s.get("ShardId").and_then(Value::as_str),
            key("StartingHashKey"),
            key("EndingHashKey"),
        ) else {
            return Err(invalid());
        };
        if start > end {
            return Err(invalid());
        }
        shards.push(Shard {
            id: id.to_owned(),
            start,
            end,
        });
    }
    let next_token = output
        .get("NextToken")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .map(str::to_owned);
    Ok(Page { shards, next_token })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(id: &str, start: u128, end: u128) -> Shard {
        Shard {
            id: id.into(),
            start,
            end,
        }
    }

    /// Four equal shards, as `CreateStream` with `ShardCount: 4` makes them.
    fn four() -> ShardMap {
        let q = u128::MAX / 4;
        ShardMap::new(vec![
            shard("s3", 3 * q + 3, u128::MAX),
            shard("s0", 0, q),
            shard("s1", q + 1, 2 * q + 1),
            shard("s2", 2 * q + 2, 3 * q + 2),
        ])
    }

    #[test]
    fn lookup_at_range_edges() {
        let m = four();
        let q = u128::MAX / 4;
        assert_eq!(m.lookup(0), Some(0));
        assert_eq!(m.lookup(q), Some(0));
        assert_eq!(m.lookup(q + 1), Some(1));
        assert_eq!(m.lookup(2 * q + 1), Some(1));
        assert_eq!(m.lookup(2 * q + 2), Some(2));
        assert_eq!(m.lookup(3 * q + 3), Some(3));
        assert_eq!(m.lookup(u128::MAX), Some(3));
        assert_eq!(m.shard(3).map(|s| s.id.as_str()), Some("s3"));
        assert_eq!(m.by_id("s2").map(|s| s.start), Some(2 * q + 2));
    }

    #[test]
    fn gaps_and_empty_maps_place_nothing() {
        let m = ShardMap::new(vec![shard("a", 10, 19), shard("b", 30, 39)]);
        assert_eq!(m.lookup(9), None);
        assert_eq!(m.lookup(20), None);
        assert_eq!(m.lookup(39), Some(1));
        assert_eq!(m.lookup(40), None);
        assert_eq!(ShardMap::default().lookup(0), None);
    }

    #[test]
    fn pages_keep_open_shards_only() {
        let body = br#"{"Shards":[
            {"ShardId":"shardId-000000000000","HashKeyRange":{"StartingHashKey":"0","EndingHashKey":"170141183460469231731687303715884105727"},
             "SequenceNumberRange":{"StartingSequenceNumber":"1","EndingSequenceNumber":"9"}},
            {"ShardId":"shardId-000000000001","HashKeyRange":{"StartingHashKey":"0","EndingHashKey":"85070591730234615865843651857942052863"},
             "SequenceNumberRange":{"StartingSequenceNumber":"10"}}
        ],"NextToken":"AAAA=="}"#;
        let page = parse_list_shards(200, None, body).unwrap();
        assert_eq!(
            page,
            Page {
                shards: vec![shard(
                    "shardId-000000000001",
                    0,
                    85070591730234615865843651857942052863
                )],
                next_token: Some("AAAA==".into()),
            }
        );
    }

    #[test]
    fn refused_and_malformed_answers() {
        let refused = parse_list_shards(
            400,
            None,
            br#"{"__type":"AccessDeniedException","message":"not allowed: kinesis:ListShards"}"#,
        )
        .unwrap_err();
        assert_eq!(refused.code, ErrorCode::AccessDenied);
        for body in [
            &b"not json"[..],
            br#"{"Shards":{}}"#,
            br#"{"Shards":[{"ShardId":"x","HashKeyRange":{"StartingHashKey":"5","EndingHashKey":"4"}}]}"#,
            br#"{"Shards":[{"ShardId":"x","HashKeyRange":{"StartingHashKey":"-1","EndingHashKey":"4"}}]}"#,
        ] {
            assert_eq!(
                parse_list_shards(200, None, body).unwrap_err().code,
                ErrorCode::InvalidResponse
            );
        }
    }

    #[test]
    fn request_bodies() {
        let target = StreamTarget {
            name: Some("readings".into()),
            arn: None,
        };
        assert_eq!(
            list_shards_body(&target, None),
            br#"{"StreamName":"readings"}"#
        );
        assert_eq!(
            list_shards_body(&target, Some("t\"1")),
            br#"{"NextToken":"t\"1"}"#
        );
    }
}
