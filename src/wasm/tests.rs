//! Boundary tests, run in Node and in headless Chromium by wasm-bindgen-test: what crosses the
//! boundary (JS errors, the record layout, the outbox's flat values) and a producer driven through
//! a whole request as the JS driver drives it.

use js_sys::Reflect;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

use super::errors::{error_to_js, failure_to_js};
use super::exports;
use super::outbox::CREDENTIALS_WANTED;
use super::producer::ProducerCore;
use crate::core::kinesis::errors::failure;
use crate::core::Error;

const NOW: f64 = 1_700_000_000_000.0;
/// The stream's settings are given: no `DescribeStreamSummary` call to script.
const OPTIONS: &str = r#"{"region":"us-east-1","streamName":"readings","lingerMs":0,"streamSettings":{},
    "credentials":{"accessKeyId":"AKID","secretAccessKey":"SECRET"}}"#;

fn get(v: &JsValue, key: &str) -> JsValue {
    Reflect::get(v, &JsValue::from_str(key)).unwrap()
}

fn text(v: &JsValue, key: &str) -> Option<String> {
    get(v, key).as_string()
}

/// `[data, key, hash key]` records end to end, with their lengths as `put` takes them.
fn chunk(records: &[(&str, &str, Option<&str>)]) -> (Vec<u8>, Vec<u32>) {
    let mut bytes = Vec::new();
    let mut lengths = Vec::new();
    for (data, key, hash) in records {
        bytes.extend_from_slice(data.as_bytes());
        bytes.extend_from_slice(key.as_bytes());
        lengths.extend([data.len() as u32, key.len() as u32]);
        match hash {
            Some(h) => {
                bytes.extend_from_slice(h.as_bytes());
                lengths.push(h.len() as u32);
            }
            None => lengths.push(u32::MAX),
        }
    }
    (bytes, lengths)
}

#[wasm_bindgen_test]
fn errors_are_js_errors_with_code_and_name() {
    let e = error_to_js(&Error::invalid_option("lingerMs", "must be a number"));
    assert!(e.is_instance_of::<js_sys::Error>());
    assert_eq!(text(&e, "name").as_deref(), Some("KinesisEdgeError"));
    assert_eq!(text(&e, "code").as_deref(), Some("InvalidOption"));
    assert_eq!(text(&e, "field").as_deref(), Some("lingerMs"));
    let f = failure_to_js(&failure(
        Some("ProvisionedThroughputExceededException"),
        Some(400),
        "slow down",
    ));
    assert_eq!(text(&f, "code").as_deref(), Some("Throttled"));
    assert_eq!(
        text(&f, "awsCode").as_deref(),
        Some("ProvisionedThroughputExceededException")
    );
    assert_eq!(get(&f, "status").as_f64(), Some(400.0));
    assert_eq!(get(&f, "retryable").as_bool(), Some(true));
}

#[wasm_bindgen_test]
fn options_are_refused_with_the_field_they_are_about() {
    for (options, field) in [
        ("5", "options"),
        (r#"{"region":5}"#, "region"),
        (
            r#"{"region":"us-east-1","streamName":"s","credentials":{"accessKeyId":"a","secretAccessKey":"b"},"lingerMS":5}"#,
            "lingerMS",
        ),
        (
            r#"{"region":"us-east-1","streamName":"s","credentials":{"accessKeyId":"a","secretAccessKey":"b"},"aggregation":{"maxBytes":"1kb"}}"#,
            "aggregation.maxBytes",
        ),
    ] {
        let Err(e) = ProducerCore::new(options, 1.0, NOW) else {
            panic!("{options} was accepted")
        };
        assert_eq!(
            text(&e, "code").as_deref(),
            Some("InvalidOption"),
            "{options}"
        );
        assert_eq!(text(&e, "field").as_deref(), Some(field), "{options}");
    }
    let Err(e) = ProducerCore::new(r#"{"region":"us-east-1","streamName":"s"}"#, 1.0, NOW) else {
        panic!()
    };
    assert_eq!(text(&e, "code").as_deref(), Some("Credentials"));
}

#[wasm_bindgen_test]
fn a_layout_out_of_range_refuses_records_and_traps_nothing() {
    let mut core = ProducerCore::new(OPTIONS, 1.0, NOW).unwrap();
    let (bytes, mut lengths) = chunk(&[("{\"t\":1}", "k", None), ("x", "k", None)]);
    lengths[3] = 1_000; // the second record's data runs past the chunk
    let taken = core.put(bytes, &lengths, NOW);
    assert_eq!(taken, [0.0, 1.0], "first id 0; record 1 refused");
    assert_eq!(
        text(&core.refusal(0), "code").as_deref(),
        Some("InvalidRecord")
    );
    // A key cut inside a multibyte character is not UTF-8.
    let taken = core.put("xé".as_bytes().to_vec(), &[1, 1, u32::MAX], NOW);
    assert_eq!(taken, [1.0, 0.0]);
}

/// The hex SHA-256 of `body`, as the host would give it.
fn digest(body: &[u8]) -> Option<String> {
    Some(exports::sha256(body))
}

/// The parts of what `drain` gives: kinds, acks, string ends, failed, aborts.
fn drained(events: &[f64]) -> (u32, Vec<Vec<f64>>) {
    let mut at = 1;
    let parts = (0..4)
        .map(|_| {
            let n = events[at] as usize;
            at += 1 + n;
            events[at - n..at].to_vec()
        })
        .collect();
    assert_eq!(at, events.len());
    (events[0] as u32, parts)
}

#[wasm_bindgen_test]
fn a_request_goes_out_signed_and_its_answer_settles_the_records() {
    let mut core = ProducerCore::new(OPTIONS, 1.0, NOW).unwrap();
    let (bytes, lengths) = chunk(&[("a", "k1", None), ("b", "k2", Some("7"))]);
    assert_eq!(core.put(bytes, &lengths, NOW), [0.0]);
    let id = core.poll_transmit(NOW);
    assert_eq!(id, 0.0);
    assert_eq!(core.poll_transmit(NOW), -1.0, "one request for both");
    let body = core.take_body();
    let headers = core.sign(id, digest(&body), None, NOW).unwrap();
    let lines: Vec<&str> = headers.split('\n').collect();
    assert_eq!(
        &lines[..4],
        [
            "content-type",
            "application/x-amz-json-1.1",
            "x-amz-target",
            "Kinesis_20131202.PutRecords"
        ]
    );
    assert!(headers.contains("authorization\nAWS4-HMAC-SHA256 Credential=AKID/20231114/us-east-1/kinesis/aws4_request"), "{headers}");
    let answer = br#"{"Records":[{"SequenceNumber":"49","ShardId":"shardId-1"},{"SequenceNumber":"50","ShardId":"shardId-1"}]}"#;
    core.handle_answer(id, 200, f64::NAN, None, answer, NOW + 5.0);
    let (_, parts) = drained(&core.drain());
    assert_eq!(
        parts[0],
        [0.0, 0.0, 1.0, -1.0, 1.0, 2.0, 1.0, -1.0],
        "the shard id is written once"
    );
    assert_eq!(parts[1], [2.0, 11.0, 13.0], "where each string ends");
    assert_eq!(core.ack_strings(), "49shardId-150");
    assert!(core.is_idle());
    let layout = exports::layout();
    let stats = core.stats(NOW);
    assert_eq!(
        stats.len(),
        layout.split('\n').count() - 1,
        "a number for every name but the empty line"
    );
    assert_eq!(
        core.stats_text(),
        "off\n\n",
        "aggregation, no note, no stream note"
    );
}

#[wasm_bindgen_test]
fn refusals_reach_js_as_coded_errors_one_per_record() {
    let mut core = ProducerCore::new(OPTIONS, 1.0, NOW).unwrap();
    let (bytes, lengths) = chunk(&[("a", "k", None), ("b", "k", None)]);
    core.put(bytes, &lengths, NOW);
    let id = core.poll_transmit(NOW);
    let body = core.take_body();
    core.sign(id, digest(&body), None, NOW).unwrap();
    let refusal =
        br#"{"__type":"ResourceNotFoundException","message":"Stream readings not found"}"#;
    core.handle_answer(id, 400, f64::NAN, None, refusal, NOW);
    let (_, parts) = drained(&core.drain());
    assert_eq!(
        parts[2],
        [0.0, 0.0, 1.0, 1.0, 0.0, 1.0],
        "both records, one failure, refused for good (SpoolFate::Drop)"
    );
    let (a, b) = (core.failure(0), core.failure(0));
    assert_eq!(text(&a, "code").as_deref(), Some("NotFound"));
    assert!(
        !js_sys::Object::is(&a, &b),
        "each record gets its own Error"
    );
}

#[wasm_bindgen_test]
fn a_provider_is_asked_for_credentials_and_a_bad_answer_counts_as_failed() {
    let options =
        r#"{"region":"us-east-1","streamName":"s","lingerMs":0,"credentials":"\u0000function"}"#;
    let mut core = ProducerCore::new(options, 1.0, NOW).unwrap();
    let (bytes, lengths) = chunk(&[("a", "k", None)]);
    core.put(bytes, &lengths, NOW);
    assert_eq!(core.poll_transmit(NOW), -1.0);
    assert_eq!(
        drained(&core.drain()).0 & CREDENTIALS_WANTED,
        CREDENTIALS_WANTED
    );
    core.set_credentials(r#"{"accessKeyId":5}"#, NOW);
    assert_eq!(
        core.poll_transmit(NOW),
        -1.0,
        "backing off after the failure"
    );
    core.set_credentials(
        r#"{"accessKeyId":"AK","secretAccessKey":"S","sessionToken":"T"}"#,
        NOW + 100.0,
    );
    let id = core.poll_transmit(NOW + 100.0);
    assert!(id >= 0.0);
    let body = core.take_body();
    let headers = core.sign(id, None, Some(body), NOW + 100.0).unwrap();
    assert!(headers.ends_with("x-amz-security-token\nT"), "{headers}");
}

#[wasm_bindgen_test]
fn the_rules_the_reader_and_cognito_ask_for() {
    assert_eq!(
        exports::endpoint_url("kinesis", "cn-north-1", None).unwrap(),
        "https://kinesis.cn-north-1.amazonaws.com.cn/"
    );
    assert_eq!(
        exports::endpoint_url(
            "cognito-identity",
            "eu-west-1",
            Some("http://127.0.0.1:9/".into())
        )
        .unwrap(),
        "http://127.0.0.1:9/"
    );
    let bad = exports::endpoint_url("kinesis", "US East", None).unwrap_err();
    assert_eq!(text(&bad, "field").as_deref(), Some("region"));
    assert_eq!(
        exports::stream_fields("us-east-1", Some("s".into()), None).unwrap(),
        r#"{"StreamName":"s"}"#
    );
    assert!(exports::credentials_fresh(None, NOW));
    assert!(!exports::credentials_fresh(Some(NOW + 30_000.0), NOW));
    // RFC 1321's test vector.
    assert_eq!(
        crate::core::sigv4::signer::hex(&exports::md5(b"abc")),
        "900150983cd24fb0d6963f7d28e17f72"
    );
    let e = exports::answer_error(
        400,
        None,
        br#"{"__type":"AccessDeniedException","message":"no"}"#,
    );
    assert_eq!(text(&e, "code").as_deref(), Some("AccessDenied"));
    let signed = exports::sign_request(
        r#"{"method":"GET","url":"https://h.example/","region":"r","service":"s","date":0,"credentials":{"accessKeyId":"AK","secretAccessKey":"S"}}"#,
        r#"[["x-a","1"]]"#,
        &exports::sha256(b""),
        NOW,
    )
    .unwrap();
    assert!(signed.starts_with("authorization\nAWS4-HMAC-SHA256 Credential=AK/19700101/r/s/aws4_request, SignedHeaders=host;x-a;x-amz-date,"), "{signed}");
    let refused =
        exports::sign_request(r#"{"url":"https://h/"}"#, "[]", &exports::sha256(b""), NOW)
            .unwrap_err();
    assert_eq!(text(&refused, "field").as_deref(), Some("region"));
}

/// One record put, sent and acknowledged: something for the metrics to count.
#[cfg(feature = "metrics")]
fn put_one_acknowledged(core: &mut ProducerCore) {
    let (bytes, lengths) = chunk(&[("a", "k", None)]);
    core.put(bytes, &lengths, NOW);
    let id = core.poll_transmit(NOW);
    core.take_body();
    core.sign(id, None, Some(Vec::new()), NOW).unwrap();
    let ok = br#"{"FailedRecordCount":0,"Records":[{"SequenceNumber":"1","ShardId":"shardId-0"}]}"#;
    core.handle_answer(id, 200, f64::NAN, None, ok, NOW + 5.0);
    core.drain();
}

#[cfg(feature = "metrics")]
#[wasm_bindgen_test]
fn producers_of_a_page_publish_through_one_accumulator_signed_for_monitoring() {
    use super::metrics::{metrics_answered, metrics_due_at, metrics_poll, metrics_stats};
    let options = r#"{"region":"us-east-1","streamName":"readings","lingerMs":0,
        "credentials":{"accessKeyId":"AKID","secretAccessKey":"SECRET"},"streamSettings":{},
        "metrics":{"level":"summary","namespace":"BoundaryTest","endpoint":"http://127.0.0.1:1"}}"#;
    let mut first = ProducerCore::new(options, 1.0, NOW).unwrap();
    let mut second = ProducerCore::new(options, 2.0, NOW).unwrap();
    assert!(first
        .host()
        .contains(r#""metrics":{"url":"http://127.0.0.1:1/","timeoutMs":10000}"#));
    assert_eq!(metrics_due_at(&mut first, NOW), NOW + 60_000.0);
    for core in [&mut first, &mut second] {
        put_one_acknowledged(core);
    }
    assert!(
        metrics_poll(&mut first, NOW + 1_000.0, false).is_none(),
        "not before the interval ends"
    );
    metrics_due_at(&mut second, NOW + 1_000.0);
    let out = metrics_poll(&mut first, NOW + 60_000.0, false).unwrap();
    let (id, headers) = out.split_once('\n').unwrap();
    assert!(headers.contains("/us-east-1/monitoring/aws4_request"));
    assert!(headers.contains("content-type\napplication/x-www-form-urlencoded; charset=utf-8"));
    let body = String::from_utf8(first.take_body()).unwrap();
    assert!(body.starts_with("Action=PutMetricData&Version=2010-08-01&Namespace=BoundaryTest"));
    assert!(
        body.contains("MetricName=UserRecordsPut") && body.contains("StatisticValues.Sum=2&"),
        "both producers' records: {body}"
    );
    assert!(
        metrics_poll(&mut second, NOW + 60_000.0, false).is_none(),
        "one call for the interval"
    );
    metrics_answered(&mut first, id.parse().unwrap(), 200, b"", NOW + 60_010.0);
    assert!(metrics_stats(&mut second, NOW).contains(r#""metricsUploads":1,"#));
}

#[cfg(feature = "metrics")]
#[wasm_bindgen_test]
fn producers_of_other_accounts_or_settings_publish_apart() {
    use super::metrics::{metrics_due_at, metrics_poll};
    let options = |key: &str, interval: u32| {
        format!(
            r#"{{"region":"us-east-1","streamName":"apart","lingerMs":0,
            "credentials":{{"accessKeyId":"{key}","secretAccessKey":"S"}},"streamSettings":{{}},
            "metrics":{{"level":"summary","namespace":"Apart","intervalMs":{interval},"endpoint":"http://127.0.0.1:1"}}}}"#
        )
    };
    let mut tenant_a = ProducerCore::new(&options("AKIDA", 60_000), 1.0, NOW).unwrap();
    let mut tenant_b = ProducerCore::new(&options("AKIDB", 60_000), 2.0, NOW).unwrap();
    let mut faster = ProducerCore::new(&options("AKIDA", 5_000), 3.0, NOW).unwrap();
    assert_eq!(metrics_due_at(&mut tenant_a, NOW), NOW + 60_000.0);
    assert_eq!(metrics_due_at(&mut tenant_b, NOW), NOW + 60_000.0);
    assert_eq!(
        metrics_due_at(&mut faster, NOW),
        NOW + 5_000.0,
        "its own interval, not the first producer's"
    );
    for (core, key) in [(&mut tenant_a, "AKIDA"), (&mut tenant_b, "AKIDB")] {
        put_one_acknowledged(core);
        let out = metrics_poll(core, NOW + 60_000.0, false).expect("each its own call");
        assert!(out.contains(&format!("Credential={key}/")), "{out}");
        let body = String::from_utf8(core.take_body()).unwrap();
        assert!(
            body.contains("StatisticValues.Sum=1&"),
            "its own record only: {body}"
        );
    }
}
