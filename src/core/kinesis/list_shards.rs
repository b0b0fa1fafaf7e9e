//! `ListShards`: the request body (the stream for the first page, the token alone after) and
//! one page of the answer, open shards only.

use crate::core::json::{write_escaped, Kind, Malformed, Reader};
use crate::core::kinesis::errors::request_failure;
use crate::core::model::error::{ErrorCode, Failure};
use crate::core::model::record::parse_hash_key;
use crate::core::model::shard::Shard;
use crate::core::model::target::StreamTarget;

/// The body of a `ListShards` call.
pub fn body(target: &StreamTarget, next_token: Option<&str>) -> Vec<u8> {
    match next_token {
        Some(token) => {
            let mut out = b"{\"NextToken\":\"".to_vec();
            write_escaped(&mut out, token);
            out.extend_from_slice(b"\"}");
            out
        }
        None => format!("{{{}}}", target.json_members()).into_bytes(),
    }
}

/// One page of a `ListShards` answer: its open shards and the token of the next page.
#[derive(Debug, PartialEq, Eq)]
pub struct Page {
    pub shards: Vec<Shard>,
    pub next_token: Option<String>,
}

pub fn read_answer(
    status: u16,
    error_type_header: Option<&str>,
    body: &[u8],
) -> Result<Page, Failure> {
    if !(200..300).contains(&status) {
        return Err(request_failure(status, error_type_header, body));
    }
    read_page(body).map_err(|Malformed| {
        Failure::transport(
            ErrorCode::InvalidResponse,
            "ListShards answer is not JSON with a Shards array of hash key ranges",
        )
    })
}

fn read_page(body: &[u8]) -> Result<Page, Malformed> {
    let mut page = Page {
        shards: Vec::new(),
        next_token: None,
    };
    let mut listed = false;
    let mut reader = Reader::new(body);
    reader.object(&mut |r, key| match &*key {
        "Shards" => {
            listed = true;
            r.array(&mut |r| {
                if let Some(shard) = read_shard(r)? {
                    page.shards.push(shard);
                }
                Ok(())
            })
        }
        "NextToken" => {
            page.next_token = r
                .string_or_skip()?
                .filter(|t| !t.is_empty())
                .map(|t| t.into_owned());
            Ok(())
        }
        _ => r.skip(),
    })?;
    reader.end()?;
    if listed {
        Ok(page)
    } else {
        Err(Malformed)
    }
}

/// A shard, or `None` when it is closed (it has an ending sequence number).
fn read_shard(r: &mut Reader<'_>) -> Result<Option<Shard>, Malformed> {
    let (mut id, mut start, mut end, mut closed) = (None, None, None, false);
    r.object(&mut |r, key| match &*key {
        "ShardId" => {
            id = r.string_or_skip()?.map(|s| s.into_owned());
            Ok(())
        }
        "HashKeyRange" => r.object(&mut |r, key| {
            let bound = match &*key {
                "StartingHashKey" => &mut start,
                "EndingHashKey" => &mut end,
                _ => return r.skip(),
            };
            *bound = r.string_or_skip()?.and_then(|k| parse_hash_key(&k).ok());
            Ok(())
        }),
        "SequenceNumberRange" => r.object(&mut |r, key| {
            if key == "EndingSequenceNumber" && r.peek()? != Kind::Null {
                closed = true;
            }
            r.skip()
        }),
        _ => r.skip(),
    })?;
    if closed {
        return Ok(None);
    }
    match (id, start, end) {
        (Some(id), Some(start), Some(end)) if start <= end => Ok(Some(Shard { id, start, end })),
        _ => Err(Malformed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> StreamTarget {
        StreamTarget::new(Some("readings"), None, "us-east-1").unwrap()
    }

    #[test]
    fn bodies() {
        assert_eq!(body(&target(), None), br#"{"StreamName":"readings"}"#);
        assert_eq!(body(&target(), Some("a\"b")), br#"{"NextToken":"a\"b"}"#);
    }

    #[test]
    fn open_shards_and_the_next_token() {
        let answer = br#"{"Shards":[
            {"ShardId":"s0","HashKeyRange":{"StartingHashKey":"0","EndingHashKey":"100"},"SequenceNumberRange":{"StartingSequenceNumber":"1"}},
            {"ShardId":"old","HashKeyRange":{"StartingHashKey":"0","EndingHashKey":"200"},"SequenceNumberRange":{"StartingSequenceNumber":"1","EndingSequenceNumber":"9"}},
            {"ShardId":"s1","ParentShardId":"old","HashKeyRange":{"StartingHashKey":"101","EndingHashKey":"340282366920938463463374607431768211455"},"SequenceNumberRange":{"StartingSequenceNumber":"1","EndingSequenceNumber":null}}
        ],"NextToken":"more"}"#;
        let page = read_answer(200, None, answer).unwrap();
        assert_eq!(
            page.shards,
            [
                Shard {
                    id: "s0".into(),
                    start: 0,
                    end: 100
                },
                Shard {
                    id: "s1".into(),
                    start: 101,
                    end: u128::MAX
                }
            ]
        );
        assert_eq!(page.next_token.as_deref(), Some("more"));
        let last = read_answer(200, None, br#"{"Shards":[],"NextToken":""}"#).unwrap();
        assert_eq!(
            last,
            Page {
                shards: vec![],
                next_token: None
            }
        );
    }

    #[test]
    fn malformed_and_refused() {
        for bad in [
            &br#"{}"#[..],
            br#"{"Shards":[{"ShardId":"s"}]}"#,
            br#"{"Shards":[{"ShardId":"s","HashKeyRange":{"StartingHashKey":"5","EndingHashKey":"4"}}]}"#,
            br#"{"Shards":[{"ShardId":"s","HashKeyRange":{"StartingHashKey":"x","EndingHashKey":"4"}}]}"#,
            b"nope",
        ] {
            let f = read_answer(200, None, bad).unwrap_err();
            assert_eq!(f.code, ErrorCode::InvalidResponse, "{}", String::from_utf8_lossy(bad));
        }
        let refused = read_answer(
            400,
            None,
            br#"{"__type":"AccessDeniedException","message":"no"}"#,
        )
        .unwrap_err();
        assert_eq!(refused.code, ErrorCode::AccessDenied);
    }
}
