//! `PutRecords` answers: per-record results from a 200, or one classified failure for the
//! whole request. Any body, however malformed, yields a result and never a panic.

use serde_json::Value;

use crate::core::classify::{failure, transport_failure};
use crate::core::error::{ErrorCode, Failure};

/// Where a record was stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ack {
    pub sequence_number: String,
    pub shard_id: String,
    /// The record's index inside the aggregated Kinesis record that carried it.
    pub sub_sequence_number: Option<u32>,
}

pub type EntryResult = Result<Ack, Failure>;

// Read through `serde_json::Value` rather than derived structs: a derived reader formats
// "invalid type: floating point ..." errors, which links the float formatter (~20 KB of wasm).
fn string_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// Longest piece of an unexpected body quoted in an error message.
const QUOTE_CHARS: usize = 200;

/// Read the answer to a request of `expected` records.
/// `error_type_header` is the `x-amzn-ErrorType` header, when present.
pub fn parse_put_records(
    status: u16,
    error_type_header: Option<&str>,
    body: &[u8],
    expected: usize,
) -> Result<Vec<EntryResult>, Failure> {
    if !(200..300).contains(&status) {
        return Err(request_failure(status, error_type_header, body));
    }
    const SHAPE: &str = "PutRecords answer is not JSON with a Records array";
    let output: Value = serde_json::from_slice(body).map_err(|_| invalid(SHAPE))?;
    let records = output
        .get("Records")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid(SHAPE))?;
    if records.len() != expected {
        return Err(invalid(&format!(
            "PutRecords answer has {} entries for {expected} records",
            records.len()
        )));
    }
    Ok(records.iter().map(entry_result).collect())
}

fn entry_result(e: &Value) -> EntryResult {
    let field = |key| string_field(e, key);
    match (
        field("ErrorCode"),
        field("SequenceNumber"),
        field("ShardId"),
    ) {
        (Some(code), _, _) => Err(failure(
            Some(code),
            None,
            field("ErrorMessage").unwrap_or(""),
        )),
        (None, Some(sequence_number), Some(shard_id))
            if is_sequence_number(sequence_number) && is_shard_id(shard_id) =>
        {
            Ok(Ack {
                sequence_number: sequence_number.to_owned(),
                shard_id: shard_id.to_owned(),
                sub_sequence_number: None,
            })
        }
        _ => Err(invalid(
            "PutRecords entry has neither an error nor a sequence number and shard id",
        )),
    }
}

/// Kinesis sequence numbers are decimal digits.
fn is_sequence_number(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Shard ids look like `shardId-000000000001`: printable ASCII, no spaces.
fn is_shard_id(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic())
}

/// An answer that is not valid: retryable, since the service may not have stored anything.
fn invalid(message: &str) -> Failure {
    transport_failure(ErrorCode::InvalidResponse, message)
}

/// Classify a non-2xx answer from its JSON error body or, failing that, its header and status.
pub fn request_failure(status: u16, error_type_header: Option<&str>, body: &[u8]) -> Failure {
    let parsed: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let kind = string_field(&parsed, "__type")
        .or(error_type_header)
        .filter(|k| !k.is_empty());
    let message = string_field(&parsed, "message").or_else(|| string_field(&parsed, "Message"));
    let message = match message {
        Some(m) => m.to_owned(),
        None => {
            let text = String::from_utf8_lossy(body);
            let quoted: String = text.chars().take(QUOTE_CHARS).collect();
            if quoted.trim().is_empty() {
                format!("HTTP {status} with no error body")
            } else {
                quoted
            }
        }
    };
    failure(kind, Some(status), &message)
}

// proptest is a native-only dev-dependency.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::core::classify::RetryClass;
    use proptest::prelude::*;

    #[test]
    fn success_and_partial_failure() {
        let body = br#"{"FailedRecordCount":1,"Records":[
            {"SequenceNumber":"4960","ShardId":"shardId-000000000001"},
            {"ErrorCode":"ProvisionedThroughputExceededException","ErrorMessage":"Rate exceeded for shard"}
        ],"EncryptionType":"NONE"}"#;
        let r = parse_put_records(200, None, body, 2).unwrap();
        assert_eq!(
            r[0],
            Ok(Ack {
                sequence_number: "4960".into(),
                shard_id: "shardId-000000000001".into(),
                sub_sequence_number: None,
            })
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
    fn whole_request_errors() {
        let f = parse_put_records(
            400,
            None,
            br#"{"__type":"ResourceNotFoundException","message":"Stream x under account 1 not found."}"#,
            3,
        )
        .unwrap_err();
        assert_eq!(
            (f.code, f.status, f.retry),
            (ErrorCode::NotFound, Some(400), RetryClass::Terminal)
        );
        let f = parse_put_records(
            400,
            None,
            br#"{"__type":"com.amazon#ValidationException","Message":"bad"}"#,
            1,
        )
        .unwrap_err();
        assert_eq!((f.code, f.message.as_str()), (ErrorCode::Validation, "bad"));
        let f = parse_put_records(503, None, b"<html>Service Unavailable</html>", 1).unwrap_err();
        assert_eq!(
            (f.code, f.retry),
            (ErrorCode::ServiceUnavailable, RetryClass::Transient)
        );
        let f =
            parse_put_records(400, Some("AccessDeniedException:http://x/"), b"", 1).unwrap_err();
        assert_eq!(f.code, ErrorCode::AccessDenied);
    }

    #[test]
    fn malformed_answers() {
        for body in [
            &b""[..],
            b"not json",
            b"{}",
            br#"{"Records":"x"}"#,
            br#"{"Records":[]}"#,
        ] {
            let f = parse_put_records(200, None, body, 1).unwrap_err();
            assert_eq!(
                f.code,
                ErrorCode::InvalidResponse,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        for entry in [
            r#"{"ShardId":"s"}"#,
            r#"{"SequenceNumber":5,"ShardId":"s"}"#,
            "[]",
            "null",
        ] {
            let body = format!(r#"{{"Records":[{entry}]}}"#);
            let r = parse_put_records(200, None, body.as_bytes(), 1).unwrap();
            assert_eq!(
                r[0].clone().unwrap_err().code,
                ErrorCode::InvalidResponse,
                "{entry}"
            );
        }
    }

    proptest! {
        #[test]
        fn never_panics(status in 0u16..1000, body in proptest::collection::vec(any::<u8>(), 0..400), n in 0usize..4) {
            let _ = parse_put_records(status, Some("x"), &body, n);
        }

        #[test]
        fn never_panics_on_json_like_bodies(body in r#"\{("Records"|"__type"|"message"|\[|\]|\{|\}|:|,|"[A-Za-z]{0,12}"|[0-9]{1,3}|null|true)*"#) {
            let _ = parse_put_records(200, None, body.as_bytes(), 1);
            let _ = parse_put_records(400, None, body.as_bytes(), 1);
        }
    }
}
