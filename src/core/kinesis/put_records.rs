//! `PutRecords`: the JSON body, written by hand so that its exact size is known before it is
//! written (the batcher counts every byte, base64 and escapes included, against the limit), and
//! the answer, read record by record. Any answer, however malformed, yields a result and never a
//! panic.
//!
//! `{"Records":[{"Data":"<base64>","PartitionKey":"<key>","ExplicitHashKey":"<n>"},...],
//!   "StreamName":"<name>","StreamARN":"<arn>"}`; a record without a partition key (an `AUTO`
//! stream's) has no `PartitionKey` member.

use std::rc::Rc;

use base64::Engine as _;

use crate::core::json::{escaped_len, write_escaped, Malformed, Reader};
use crate::core::kinesis::errors::{failure, request_failure};
use crate::core::model::error::{ErrorCode, Failure};
use crate::core::model::record::Record;
use crate::core::model::target::StreamTarget;

const OPEN: &[u8] = b"{\"Records\":[";
const DATA: &[u8] = b"{\"Data\":\"";
const KEY: &[u8] = b"\",\"PartitionKey\":\"";
const HASH_KEY: &[u8] = b"\",\"ExplicitHashKey\":\"";
const ENTRY_END: &[u8] = b"\"}";

/// Bytes the base64 form of `n` bytes takes (padded, standard alphabet).
pub fn base64_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}

/// Bytes one record's entry takes in the `Records` array (without the separating comma).
pub fn entry_len(record: &Record) -> usize {
    entry_len_parts(
        record.data().len(),
        record.partition_key(),
        record.explicit_hash_key().map(str::len),
    )
}

/// Bytes of an entry with `data_len` bytes of data, `key` and an explicit hash key of
/// `hash_key_len` digits.
pub fn entry_len_parts(data_len: usize, key: &str, hash_key_len: Option<usize>) -> usize {
    DATA.len()
        + base64_len(data_len)
        + if key.is_empty() {
            0
        } else {
            KEY.len() + escaped_len(key)
        }
        + hash_key_len.map_or(0, |n| HASH_KEY.len() + n)
        + ENTRY_END.len()
}

/// The body of a request to `target`, framing included, entries excluded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Framing {
    /// `],"StreamName":"..."}`: what follows the entries.
    tail: Vec<u8>,
}

impl Framing {
    pub fn new(target: &StreamTarget) -> Self {
        Self {
            tail: format!("],{}}}", target.json_members()).into_bytes(),
        }
    }

    /// Bytes of a body that are not entries.
    pub fn overhead(&self) -> usize {
        OPEN.len() + self.tail.len()
    }

    /// Exact body size for `count` entries whose lengths sum to `entries_len`.
    pub fn body_len(&self, count: usize, entries_len: usize) -> usize {
        self.overhead() + entries_len + count.saturating_sub(1)
    }

    /// Write the body for `records`; `len` is its size ([`Framing::body_len`]). The body is one
    /// zeroed buffer filled in place: a single memset for the whole body rather than one per
    /// record, and no growth check per piece (a wrong `len` still gives a valid body).
    pub fn write<'a>(&self, records: impl IntoIterator<Item = &'a Record>, len: usize) -> Vec<u8> {
        let mut out = Body {
            bytes: vec![0; len],
            at: 0,
        };
        out.put(OPEN);
        for (i, r) in records.into_iter().enumerate() {
            if i > 0 {
                out.put(b",");
            }
            out.put(DATA);
            let encoded = out.room(base64_len(r.data().len()));
            // The slice has exactly the encoded length, so this cannot fail.
            let _ = base64::engine::general_purpose::STANDARD.encode_slice(r.data(), encoded);
            let key = r.partition_key();
            if !key.is_empty() {
                out.put(KEY);
            }
            if escaped_len(key) == key.len() {
                out.put(key.as_bytes());
            } else {
                let mut escaped = Vec::new();
                write_escaped(&mut escaped, key);
                out.put(&escaped);
            }
            if let Some(k) = r.explicit_hash_key() {
                out.put(HASH_KEY);
                out.put(k.as_bytes());
            }
            out.put(ENTRY_END);
        }
        out.put(&self.tail);
        out.bytes.truncate(out.at);
        out.bytes
    }
}

/// A body being written into its buffer.
struct Body {
    bytes: Vec<u8>,
    at: usize,
}

impl Body {
    /// The next `n` bytes of the buffer, which grows only if the length given was short.
    #[inline(always)]
    fn room(&mut self, n: usize) -> &mut [u8] {
        let end = self.at + n;
        if end > self.bytes.len() {
            self.bytes.resize(end, 0);
        }
        let start = core::mem::replace(&mut self.at, end);
        &mut self.bytes[start..end]
    }

    #[inline(always)]
    fn put(&mut self, piece: &[u8]) {
        self.room(piece.len()).copy_from_slice(piece);
    }
}

/// Where Kinesis stored a record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
    pub sequence_number: Rc<str>,
    pub shard_id: Rc<str>,
}

pub type EntryResult = Result<Stored, Failure>;

/// An answer that is not valid: retryable, since the service may not have stored anything.
fn invalid(message: impl Into<String>) -> Failure {
    Failure::transport(ErrorCode::InvalidResponse, message)
}

/// Read the answer to a request of `expected` records: one result per record, in order, or one
/// failure for the whole request. `error_type_header` is the `x-amzn-ErrorType` header.
pub fn read_answer(
    status: u16,
    error_type_header: Option<&str>,
    body: &[u8],
    expected: usize,
) -> Result<Vec<EntryResult>, Failure> {
    if !(200..300).contains(&status) {
        return Err(request_failure(status, error_type_header, body));
    }
    let mut results = Vec::with_capacity(expected);
    let mut found = false;
    let mut reader = Reader::new(body);
    let shape = reader
        .object(&mut |r, key| {
            if key != "Records" {
                return r.skip();
            }
            found = true;
            // Consecutive records usually share a shard: one string for all of them.
            let mut last_shard: Option<Rc<str>> = None;
            r.array(&mut |r| {
                results.push(entry(r, &mut last_shard)?);
                Ok(())
            })
        })
        .and_then(|()| reader.end());
    if shape.is_err() || !found {
        return Err(invalid(
            "PutRecords answer is not JSON with a Records array",
        ));
    }
    if results.len() != expected {
        return Err(invalid(format!(
            "PutRecords answer has {} entries for {expected} records",
            results.len()
        )));
    }
    Ok(results)
}

/// One entry of `Records`: stored, or failed with the service's code.
fn entry(r: &mut Reader<'_>, last_shard: &mut Option<Rc<str>>) -> Result<EntryResult, Malformed> {
    if let Some((seq, shard)) = usual_entry(r) {
        return Ok(Ok(stored(seq, shard, last_shard)));
    }
    if r.peek()? != crate::core::json::Kind::Object {
        r.skip()?;
        return Ok(Err(not_an_entry()));
    }
    let (mut sequence_number, mut shard_id, mut code, mut message) = (None, None, None, None);
    r.object(&mut |r, key| {
        let field = match &*key {
            "SequenceNumber" => &mut sequence_number,
            "ShardId" => &mut shard_id,
            "ErrorCode" => &mut code,
            "ErrorMessage" => &mut message,
            _ => return r.skip(),
        };
        *field = r.string_or_skip()?;
        Ok(())
    })?;
    Ok(match (code, sequence_number, shard_id) {
        (Some(code), _, _) => Err(failure(Some(&code), None, message.as_deref().unwrap_or(""))),
        (None, Some(seq), Some(shard)) if is_sequence_number(&seq) && is_shard_id(&shard) => {
            Ok(stored(&seq, &shard, last_shard))
        }
        _ => Err(not_an_entry()),
    })
}

fn stored(sequence_number: &str, shard: &str, last_shard: &mut Option<Rc<str>>) -> Stored {
    let shard_id = match last_shard.as_ref().filter(|s| ***s == *shard) {
        Some(same) => Rc::clone(same),
        None => Rc::from(shard),
    };
    *last_shard = Some(Rc::clone(&shard_id));
    Stored {
        sequence_number: Rc::from(sequence_number),
        shard_id,
    }
}

/// The entry as Kinesis writes a stored record, `{"SequenceNumber":"..","ShardId":".."}`
/// exactly, read by comparing bytes: an answer holds up to 500 of them, and the general reader
/// costs several times more. Anything else (spaces, another order, an escape, an error entry)
/// is left to the general reader.
fn usual_entry<'a>(r: &mut Reader<'a>) -> Option<(&'a str, &'a str)> {
    let rest = r.rest();
    let quoted = |from: &'a [u8]| {
        let end = from.iter().position(|&b| b == b'"' || b == b'\\')?;
        let (text, after) = from.split_at(end);
        Some((core::str::from_utf8(text).ok()?, after))
    };
    let (seq, after) = quoted(rest.strip_prefix(br#"{"SequenceNumber":""#)?)?;
    let (shard, after) = quoted(after.strip_prefix(br#"","ShardId":""#)?)?;
    let after = after.strip_prefix(br#""}"#)?;
    if !is_sequence_number(seq) || !is_shard_id(shard) {
        return None;
    }
    r.advance(rest.len() - after.len());
    Some((seq, shard))
}

fn not_an_entry() -> Failure {
    invalid("PutRecords entry has neither an error nor a sequence number and shard id")
}

/// Kinesis sequence numbers are decimal digits.
fn is_sequence_number(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Shard ids look like `shardId-000000000001`: printable ASCII, no spaces.
fn is_shard_id(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::error::RetryClass;

    #[test]
    fn known_body() {
        let framing = Framing::new(&StreamTarget::new(Some("s"), None, "us-east-1").unwrap());
        let records = [
            Record::new(b"hi", "k\"1", None),
            Record::new(b"", "k", Some("7")),
        ];
        let body = framing.write(&records, 0);
        assert_eq!(
            String::from_utf8(body.clone()).unwrap(),
            r#"{"Records":[{"Data":"aGk=","PartitionKey":"k\"1"},{"Data":"","PartitionKey":"k","ExplicitHashKey":"7"}],"StreamName":"s"}"#
        );
        let entries = records.iter().map(entry_len).sum();
        assert_eq!(framing.body_len(2, entries), body.len());
    }

    #[test]
    fn success_and_partial_failure() {
        let body = br#"{"FailedRecordCount":1,"Records":[
            {"SequenceNumber":"4960","ShardId":"shardId-000000000001"},
            {"ErrorCode":"ProvisionedThroughputExceededException","ErrorMessage":"Rate exceeded for shard"},
            {"SequenceNumber":"4961","ShardId":"shardId-000000000001"}
        ],"EncryptionType":"NONE"}"#;
        let r = read_answer(200, None, body, 3).unwrap();
        let first = r[0].clone().unwrap();
        assert_eq!(
            (&*first.sequence_number, &*first.shard_id),
            ("4960", "shardId-000000000001")
        );
        let third = r[2].clone().unwrap();
        assert!(
            Rc::ptr_eq(&first.shard_id, &third.shard_id),
            "one string per shard"
        );
        let f = r[1].clone().unwrap_err();
        assert_eq!(
            (f.code, f.retry),
            (ErrorCode::Throttled, RetryClass::Throttling)
        );
        assert_eq!(
            f.aws_code.as_deref(),
            Some("ProvisionedThroughputExceededException")
        );
        assert_eq!(f.message, "Rate exceeded for shard");
    }

    #[test]
    fn the_usual_entries_read_as_the_general_reader_reads_them() {
        let compact = br#"{"Records":[{"SequenceNumber":"49","ShardId":"shardId-1"},{"SequenceNumber":"50","ShardId":"shardId-2"}]}"#;
        let general = br#"{"Records":[ {"ShardId":"shardId-1", "SequenceNumber":"49"}, {"SequenceNumber" : "50","ShardId":"shard\u0049d-2"} ]}"#;
        let a = read_answer(200, None, compact, 2).unwrap();
        let b = read_answer(200, None, general, 2).unwrap();
        let ids = |r: &[EntryResult]| {
            r.iter()
                .map(|e| {
                    e.clone()
                        .map(|s| (s.sequence_number.to_string(), s.shard_id.to_string()))
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&a), ids(&b));
        // Shapes the fast path does not take are still read, or refused, by the general reader.
        for (entry, ok) in [
            (r#"{"SequenceNumber":"4x","ShardId":"s"}"#, false),
            (r#"{"SequenceNumber":"4","ShardId":"s","Extra":1}"#, true),
            (r#"{"SequenceNumber":"4","ShardId":"s"#, false),
        ] {
            let body = format!(r#"{{"Records":[{entry}]}}"#);
            match read_answer(200, None, body.as_bytes(), 1) {
                Ok(r) => assert_eq!(r[0].is_ok(), ok, "{entry}"),
                Err(f) => assert!(!ok && f.code == ErrorCode::InvalidResponse, "{entry}"),
            }
        }
    }

    #[test]
    fn whole_request_errors_are_classified_by_the_error_rules() {
        let body = br#"{"__type":"ResourceNotFoundException","message":"gone"}"#;
        assert_eq!(
            read_answer(400, None, body, 3).unwrap_err(),
            request_failure(400, None, body)
        );
    }

    #[test]
    fn malformed_answers() {
        for body in [
            &b""[..],
            b"not json",
            b"{}",
            br#"{"Records":"x"}"#,
            br#"{"Records":[]}"#,
            br#"{"Records":[{}"#,
        ] {
            let f = read_answer(200, None, body, 1).unwrap_err();
            assert_eq!(
                f.code,
                ErrorCode::InvalidResponse,
                "{}",
                String::from_utf8_lossy(body)
            );
            assert!(f.retry.is_retryable());
        }
        for entry in [
            r#"{"ShardId":"s"}"#,
            r#"{"SequenceNumber":5,"ShardId":"s"}"#,
            r#"{"SequenceNumber":"5x","ShardId":"s"}"#,
            "[]",
            "null",
        ] {
            let body = format!(r#"{{"Records":[{entry}]}}"#);
            let r = read_answer(200, None, body.as_bytes(), 1).unwrap();
            assert_eq!(
                r[0].clone().unwrap_err().code,
                ErrorCode::InvalidResponse,
                "{entry}"
            );
        }
    }
}

// proptest is a native-only dev-dependency.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn arb_record() -> impl Strategy<Value = Record> {
        (
            proptest::collection::vec(any::<u8>(), 0..300),
            "\\PC{1,40}|[\\x00-\\x1f\"\\\\]{1,10}",
            proptest::option::of("0|[1-9][0-9]{0,37}"),
        )
            .prop_map(|(data, key, hash)| Record::new(&data, &key, hash.as_deref()))
    }

    proptest! {
        /// The computed size is the written size, and the body is JSON that decodes back.
        #[test]
        fn size_is_exact_and_body_round_trips(records in proptest::collection::vec(arb_record(), 1..20)) {
            let target = StreamTarget::new(Some("readings"), Some("arn:aws:kinesis:us-east-1:123456789012:stream/readings"), "us-east-1").unwrap();
            let framing = Framing::new(&target);
            let entries: usize = records.iter().map(entry_len).sum();
            let expected = framing.body_len(records.len(), entries);
            let body = framing.write(&records, expected);
            prop_assert_eq!(body.len(), expected);
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            prop_assert_eq!(v["StreamName"].as_str(), Some("readings"));
            let got = v["Records"].as_array().unwrap();
            prop_assert_eq!(got.len(), records.len());
            for (g, r) in got.iter().zip(&records) {
                let data = base64::engine::general_purpose::STANDARD.decode(g["Data"].as_str().unwrap()).unwrap();
                prop_assert_eq!(&data[..], r.data());
                prop_assert_eq!(g["PartitionKey"].as_str().unwrap(), r.partition_key());
                prop_assert_eq!(g.get("ExplicitHashKey").and_then(|h| h.as_str()), r.explicit_hash_key());
            }
        }

        #[test]
        fn never_panics(status in 0u16..1000, body in proptest::collection::vec(any::<u8>(), 0..400), n in 0usize..4) {
            let _ = read_answer(status, Some("x"), &body, n);
        }

        #[test]
        fn never_panics_on_json_like_bodies(body in r#"\{("Records"|"__type"|"message"|\[|\]|\{|\}|:|,|"[A-Za-z]{0,12}"|[0-9]{1,3}|null|true)*"#) {
            let _ = read_answer(200, None, body.as_bytes(), 1);
            let _ = read_answer(400, None, body.as_bytes(), 1);
        }
    }
}
