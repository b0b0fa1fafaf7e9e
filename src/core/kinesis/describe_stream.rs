//! `DescribeStreamSummary`: the request body and the settings read from its answer
//! (`StreamStatus`, `RecordDistributionStrategy`, `MaxRecordSizeInKiB`).

use crate::core::json::{Malformed, Reader};
use crate::core::kinesis::errors::request_failure;
use crate::core::model::error::{ErrorCode, Failure};
use crate::core::model::stream::{StreamSettings, StreamStatus, DEFAULT_STREAM_RECORD_BYTES};
use crate::core::model::target::StreamTarget;

/// The body of a `DescribeStreamSummary` call.
pub fn body(target: &StreamTarget) -> Vec<u8> {
    format!("{{{}}}", target.json_members()).into_bytes()
}

pub fn read_answer(
    status: u16,
    error_type_header: Option<&str>,
    body: &[u8],
) -> Result<StreamSettings, Failure> {
    if !(200..300).contains(&status) {
        return Err(request_failure(status, error_type_header, body));
    }
    read_summary(body).map_err(|Malformed| {
        Failure::transport(
            ErrorCode::InvalidResponse,
            "DescribeStreamSummary answer has no StreamDescriptionSummary with a known StreamStatus",
        )
    })
}

fn read_summary(body: &[u8]) -> Result<StreamSettings, Malformed> {
    let (mut status, mut auto, mut kib) = (None, false, None);
    let mut reader = Reader::new(body);
    reader.object(&mut |r, key| match &*key {
        "StreamDescriptionSummary" => r.object(&mut |r, key| {
            match &*key {
                "StreamStatus" => {
                    status = r
                        .string_or_skip()?
                        .and_then(|s| StreamStatus::from_wire(&s))
                }
                // Absent on provisioned streams, which place records by key.
                "RecordDistributionStrategy" => {
                    auto = r.string_or_skip()?.as_deref() == Some("AUTO")
                }
                "MaxRecordSizeInKiB" => kib = Some(r.number()?),
                _ => r.skip()?,
            }
            Ok(())
        }),
        _ => r.skip(),
    })?;
    reader.end()?;
    let max_record_bytes = match kib {
        None => DEFAULT_STREAM_RECORD_BYTES,
        // 1024-10240 today; larger values are taken, up to 1 GiB (a usize on wasm32).
        Some(k) if (1.0..=1_048_576.0).contains(&k) && k.fract() == 0.0 => k as usize * 1024,
        Some(_) => return Err(Malformed),
    };
    Ok(StreamSettings {
        status: status.ok_or(Malformed)?,
        auto_distribution: auto,
        max_record_bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_names_the_stream() {
        let target = StreamTarget::new(Some("readings"), None, "us-east-1").unwrap();
        assert_eq!(body(&target), br#"{"StreamName":"readings"}"#);
    }

    #[test]
    fn settings_of_an_answer() {
        let on_demand = br#"{"StreamDescriptionSummary":{"StreamName":"s","StreamARN":"arn:aws:kinesis:us-east-1:123456789012:stream/s",
            "StreamStatus":"UPDATING","StreamModeDetails":{"StreamMode":"ON_DEMAND"},"RetentionPeriodHours":24,
            "StreamCreationTimestamp":1.7E9,"EnhancedMonitoring":[{"ShardLevelMetrics":[]}],"OpenShardCount":4,
            "RecordDistributionStrategy":"AUTO","MaxRecordSizeInKiB":10240,"WarmThroughput":{"CurrentMiBps":4}}}"#;
        assert_eq!(
            read_answer(200, None, on_demand).unwrap(),
            StreamSettings {
                status: StreamStatus::Updating,
                auto_distribution: true,
                max_record_bytes: 10 << 20
            }
        );
        // What kinesalite and older regions answer: no strategy, no record size.
        let plain =
            br#"{"StreamDescriptionSummary":{"StreamStatus":"CREATING","OpenShardCount":1}}"#;
        assert_eq!(
            read_answer(200, None, plain).unwrap(),
            StreamSettings {
                status: StreamStatus::Creating,
                ..StreamSettings::default()
            }
        );
    }

    #[test]
    fn malformed_and_refused() {
        for bad in [
            &br#"{}"#[..],
            br#"{"StreamDescriptionSummary":{"StreamStatus":"GONE"}}"#,
            br#"{"StreamDescriptionSummary":{"StreamStatus":"ACTIVE","MaxRecordSizeInKiB":-1}}"#,
            br#"{"StreamDescriptionSummary":{"StreamStatus":"ACTIVE","MaxRecordSizeInKiB":"1024"}}"#,
            b"nope",
        ] {
            let f = read_answer(200, None, bad).unwrap_err();
            assert_eq!(f.code, ErrorCode::InvalidResponse, "{}", String::from_utf8_lossy(bad));
        }
        let missing = read_answer(
            400,
            None,
            br#"{"__type":"ResourceNotFoundException","message":"Stream s not found"}"#,
        )
        .unwrap_err();
        assert_eq!(missing.code, ErrorCode::NotFound);
        let throttled = read_answer(
            400,
            None,
            br#"{"__type":"LimitExceededException","message":"Rate exceeded"}"#,
        )
        .unwrap_err();
        assert!(throttled.retry.is_retryable());
    }
}
