//! The `PutRecords` JSON body, written by hand so that its exact size is known before it is
//! written: the batcher counts every byte (base64, escapes, framing) against the limit.
//!
//! `{"Records":[{"Data":"<base64>","PartitionKey":"<key>","ExplicitHashKey":"<n>"},...],
//!   "StreamName":"<name>","StreamARN":"<arn>"}`

use base64::Engine as _;

use crate::core::config::StreamTarget;
use crate::core::record::Record;

const OPEN: &[u8] = b"{\"Records\":[";
const DATA: &[u8] = b"{\"Data\":\"";
const KEY: &[u8] = b"\",\"PartitionKey\":\"";
const HASH_KEY: &[u8] = b"\",\"ExplicitHashKey\":\"";
const ENTRY_END: &[u8] = b"\"}";

/// Bytes the base64 form of `n` bytes takes (padded, standard alphabet).
pub fn base64_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}

/// Bytes `s` takes inside a JSON string literal.
pub fn escaped_len(s: &str) -> usize {
    s.bytes()
        .map(|b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0..=0x1f => 6,
            _ => 1,
        })
        .sum()
}

pub fn write_escaped(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    // Keys are nearly always plain: one copy instead of a push per byte.
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.extend_from_slice(s.as_bytes());
        return;
    }
    for &b in s.as_bytes() {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            0..=0x1f => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[(b >> 4) as usize],
                HEX[(b & 15) as usize],
            ]),
            _ => out.push(b),
        }
    }
}

/// Bytes one record's entry takes in the `Records` array (without the separating comma).
pub fn entry_len(record: &Record) -> usize {
    entry_len_parts(
        record.data.len(),
        &record.partition_key,
        record.explicit_hash_key.as_ref().map(String::len),
    )
}

/// Bytes of an entry with `data_len` bytes of data, `key` and an explicit hash key of
/// `hash_key_len` digits.
pub fn entry_len_parts(data_len: usize, key: &str, hash_key_len: Option<usize>) -> usize {
    DATA.len()
        + base64_len(data_len)
        + KEY.len()
        + escaped_len(key)
        + hash_key_len.map_or(0, |n| HASH_KEY.len() + n)
        + ENTRY_END.len()
}

fn stream_fields(target: &StreamTarget) -> String {
    // Names and ARNs are validated to need no escaping.
    let mut s = String::new();
    if let Some(name) = &target.name {
        s.push_str(&format!(",\"StreamName\":\"{name}\""));
    }
    if let Some(arn) = &target.arn {
        s.push_str(&format!(",\"StreamARN\":\"{arn}\""));
    }
    s
}

/// Bytes of a body that are not entries: framing plus the stream fields.
pub fn request_overhead(target: &StreamTarget) -> usize {
    OPEN.len() + 1 + stream_fields(target).len() + 1
}

/// Exact body size for entries whose lengths sum to `entries_len`.
pub fn body_len(overhead: usize, count: usize, entries_len: usize) -> usize {
    overhead + entries_len + count.saturating_sub(1)
}

/// Write the body for `records`; `size_hint` is its exact size when known.
pub fn write_body<'a>(
    target: &StreamTarget,
    records: impl IntoIterator<Item = &'a Record>,
    size_hint: usize,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(size_hint);
    out.extend_from_slice(OPEN);
    for (i, r) in records.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(DATA);
        let start = out.len();
        out.resize(start + base64_len(r.data.len()), 0);
        // The slice has exactly the encoded length, so this cannot fail.
        let _ = base64::engine::general_purpose::STANDARD.encode_slice(&r.data, &mut out[start..]);
        out.extend_from_slice(KEY);
        write_escaped(&mut out, &r.partition_key);
        if let Some(k) = &r.explicit_hash_key {
            out.extend_from_slice(HASH_KEY);
            out.extend_from_slice(k.as_bytes());
        }
        out.extend_from_slice(ENTRY_END);
    }
    out.push(b']');
    out.extend_from_slice(stream_fields(target).as_bytes());
    out.push(b'}');
    out
}

// proptest is a native-only dev-dependency.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn target() -> StreamTarget {
        StreamTarget {
            name: Some("readings".into()),
            arn: Some("arn:aws:kinesis:us-east-1:123456789012:stream/readings".into()),
        }
    }

    fn rec(data: &[u8], key: &str, hash: Option<&str>) -> Record {
        Record {
            data: data.to_vec(),
            partition_key: key.into(),
            explicit_hash_key: hash.map(Into::into),
        }
    }

    #[test]
    fn known_body() {
        let t = StreamTarget {
            name: Some("s".into()),
            arn: None,
        };
        let body = write_body(
            &t,
            [&rec(b"hi", "k\"1", None), &rec(b"", "k", Some("7"))],
            0,
        );
        assert_eq!(
            String::from_utf8(body).unwrap(),
            r#"{"Records":[{"Data":"aGk=","PartitionKey":"k\"1"},{"Data":"","PartitionKey":"k","ExplicitHashKey":"7"}],"StreamName":"s"}"#
        );
    }

    fn arb_record() -> impl Strategy<Value = Record> {
        (
            proptest::collection::vec(any::<u8>(), 0..300),
            "\\PC{1,40}|[\\x00-\\x1f\"\\\\]{1,10}",
            proptest::option::of("0|[1-9][0-9]{0,37}"),
        )
            .prop_map(|(data, key, hash)| Record {
                data,
                partition_key: key,
                explicit_hash_key: hash,
            })
    }

    proptest! {
        /// The computed size is the written size, and the body is JSON that decodes back.
        #[test]
        fn size_is_exact_and_body_round_trips(records in proptest::collection::vec(arb_record(), 1..20)) {
            let t = target();
            let entries: usize = records.iter().map(entry_len).sum();
            let expected = body_len(request_overhead(&t), records.len(), entries);
            let body = write_body(&t, &records, expected);
            prop_assert_eq!(body.len(), expected);
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            prop_assert_eq!(v["StreamName"].as_str(), Some("readings"));
            let got = v["Records"].as_array().unwrap();
            prop_assert_eq!(got.len(), records.len());
            for (g, r) in got.iter().zip(&records) {
                let data = base64::engine::general_purpose::STANDARD.decode(g["Data"].as_str().unwrap()).unwrap();
                prop_assert_eq!(&data, &r.data);
                prop_assert_eq!(g["PartitionKey"].as_str().unwrap(), r.partition_key.as_str());
                prop_assert_eq!(g.get("ExplicitHashKey").and_then(|h| h.as_str()), r.explicit_hash_key.as_deref());
            }
        }
    }
}
