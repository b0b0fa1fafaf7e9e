//! The producer driven as a host drives it, with a scripted service and a hand-moved clock.

use super::*;
use crate::core::engine::retry;
use crate::core::model::options::Options;

const OK: &str = r#"{"SequenceNumber":"1","ShardId":"shardId-0"}"#;
const THROTTLED: &str =
    r#"{"ErrorCode":"ProvisionedThroughputExceededException","ErrorMessage":"slow down"}"#;
const INTERNAL: &str = r#"{"ErrorCode":"InternalFailure","ErrorMessage":"x"}"#;
const CREDS: &str = r#"{"accessKeyId":"AKID","secretAccessKey":"SECRET"}"#;

/// A producer for stream `readings` in us-east-1 with these extra options (JSON members); the
/// stream's settings given as a new stream's unless `extra` sets them (no
/// `DescribeStreamSummary` call to script).
pub fn producer(extra: &str) -> Producer {
    let settings = if extra.contains("streamSettings") {
        ""
    } else {
        r#","streamSettings":{}"#
    };
    let extra = format!("{extra}{settings}");
    let extra = extra.trim_start_matches(',');
    let sep = if extra.is_empty() { "" } else { "," };
    let text = format!(
        r#"{{"region":"us-east-1","streamName":"readings","credentials":{CREDS}{sep}{extra}}}"#
    );
    Producer::new(
        Config::from_options(&Options::from_json(&text, "options").unwrap()).unwrap(),
        7,
    )
}

pub fn rec(key: &str) -> Record {
    Record::new(b"{\"t\":1}", key, None)
}

pub fn answer(entries: &[&str]) -> Vec<u8> {
    format!(
        "{{\"FailedRecordCount\":0,\"Records\":[{}]}}",
        entries.join(",")
    )
    .into_bytes()
}

pub fn status(status: u16, body: &[u8]) -> Answer<'_> {
    Answer {
        status,
        error_type: None,
        date_ms: None,
        body,
    }
}

/// Partition keys of a `PutRecords` body, in order.
pub fn keys(t: &Transmit) -> Vec<String> {
    let body: serde_json::Value = serde_json::from_slice(&t.body).unwrap();
    body["Records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["PartitionKey"].as_str().unwrap().to_owned())
        .collect()
}

/// Every event since the last call.
pub fn events(p: &mut Producer) -> Vec<Event> {
    std::iter::from_fn(|| p.poll_event()).collect()
}

/// The settlements among the events since the last call.
pub fn settled(p: &mut Producer) -> Vec<Settlement> {
    events(p)
        .into_iter()
        .filter_map(|e| match e {
            Event::Settled(s) => Some(s),
            _ => None,
        })
        .collect()
}

fn ids(settled: &[Settlement]) -> Vec<RecordId> {
    settled.iter().map(|s| s.id).collect()
}

pub fn failure(s: &Settlement) -> &Failure {
    match &s.outcome {
        Outcome::Failed(f) => f,
        Outcome::Acked(a) => panic!("record {} was acknowledged: {a:?}", s.id),
    }
}

fn put_all(p: &mut Producer, keys: &[&str], now: Millis) {
    for k in keys {
        p.put(rec(k), now).unwrap();
    }
}

#[test]
fn linger_then_send_and_settle_in_order() {
    let mut p = producer("");
    let a = p.put(rec("a"), 1_000).unwrap();
    p.put(rec("b"), 1_010).unwrap();
    assert_eq!(p.poll_timeout(), Some(1_100));
    assert!(p.poll_transmit(1_099).is_none());
    let t = p.poll_transmit(1_100).unwrap();
    assert_eq!(t.operation, Operation::PutRecords);
    assert_eq!(keys(&t), ["a", "b"]);
    p.handle_answer(t.id, status(200, &answer(&[OK, OK])), 1_200);
    let s = settled(&mut p);
    assert_eq!(ids(&s), [a, a + 1]);
    assert!(
        matches!(&s[0].outcome, Outcome::Acked(ack) if &*ack.sequence_number == "1" && ack.sub_sequence_number.is_none())
    );
    assert!(p.is_idle());
    assert_eq!(p.poll_timeout(), None, "nothing to wake for");
}

#[test]
fn signing_gives_every_header_with_the_configured_region() {
    let mut p = producer(
        r#""credentials":{"accessKeyId":"AKID","secretAccessKey":"SECRET","sessionToken":"TOKEN"}"#,
    );
    p.put(rec("a"), 0).unwrap();
    p.flush();
    let t = p.poll_transmit(0).unwrap();
    let headers = p
        .sign(t.id, Payload::Body(&t.body), 1_700_000_000_000)
        .unwrap();
    let get = |n: &str| {
        headers
            .iter()
            .find(|(k, _)| *k == n)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("content-type"), Some("application/x-amz-json-1.1"));
    assert_eq!(get("x-amz-target"), Some("Kinesis_20131202.PutRecords"));
    assert_eq!(get("x-amz-date"), Some("20231114T221320Z"));
    assert_eq!(get("x-amz-security-token"), Some("TOKEN"));
    assert!(get("authorization").unwrap().starts_with(
        "AWS4-HMAC-SHA256 Credential=AKID/20231114/us-east-1/kinesis/aws4_request, \
         SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, Signature="
    ));
    let hex = sha256_hex(&t.body);
    assert_eq!(
        p.sign(t.id, Payload::Sha256Hex(&hex), 1_700_000_000_000),
        Some(headers),
        "host digest or core digest alike"
    );
    assert_eq!(p.sign(99, Payload::Body(b""), 0), None, "no such request");
}

#[test]
fn only_failed_entries_are_sent_again_in_their_order() {
    let mut p = producer("");
    put_all(&mut p, &["a", "b", "c", "d"], 0);
    p.flush();
    let first = p.poll_transmit(0).unwrap();
    p.handle_answer(
        first.id,
        status(200, &answer(&[OK, INTERNAL, OK, THROTTLED])),
        10,
    );
    assert_eq!(ids(&settled(&mut p)), [0, 2]);
    let c = p.stats(10).counters;
    assert_eq!(
        (c.retries, c.throttles, p.stats(10).buffered_records),
        (2, 1, 2)
    );
    // New records queue behind the retried ones.
    p.put(rec("e"), 20).unwrap();
    // Throttling in the answer: at most the throttling base before the next attempt.
    let wake = p.poll_timeout().unwrap();
    assert!(
        (10..=10 + retry::THROTTLING_BASE_MS).contains(&wake),
        "{wake}"
    );
    assert!(
        p.poll_transmit(wake - 1).is_none(),
        "no request during the backoff"
    );
    p.flush();
    let second = p.poll_transmit(wake).unwrap();
    assert_eq!(keys(&second), ["b", "d", "e"]);
    p.handle_answer(second.id, status(200, &answer(&[OK, OK, OK])), wake + 5);
    assert_eq!(ids(&settled(&mut p)), [1, 3, 4]);
    assert!(p.is_idle());
    assert_eq!(
        p.stats(0).counters.records_sent,
        7,
        "a and c were never sent twice"
    );
}

#[test]
fn terminal_failures_settle_at_once_retryable_whole_failures_retry() {
    let mut p = producer("");
    put_all(&mut p, &["a", "b", "c"], 0);
    p.flush();
    let t = p.poll_transmit(0).unwrap();
    p.handle_answer(
        t.id,
        status(
            400,
            br#"{"__type":"ResourceNotFoundException","message":"no"}"#,
        ),
        1,
    );
    let s = settled(&mut p);
    assert_eq!(s.len(), 3);
    assert!(s
        .iter()
        .all(|s| failure(s).code == ErrorCode::NotFound && failure(s).status == Some(400)));
    assert_eq!(p.stats(1).counters.requests_failed, 1);
    // An answer for a request no longer in flight is ignored.
    p.handle_answer(t.id, status(200, b"{}"), 2);
    assert!(settled(&mut p).is_empty());

    p.put(rec("d"), 10).unwrap();
    p.flush();
    let t = p.poll_transmit(10).unwrap();
    p.handle_network_error(t.id, "reset", 11);
    assert!(settled(&mut p).is_empty());
    let again = p.poll_transmit(11 + retry::TRANSIENT_BASE_MS).unwrap();
    assert_eq!(keys(&again), ["d"]);
}

#[test]
fn a_request_without_an_answer_by_its_deadline_is_aborted_and_retried() {
    let mut p = producer(r#""requestTimeoutMs":100,"lingerMs":0"#);
    p.put(rec("a"), 0).unwrap();
    let t = p.poll_transmit(0).unwrap();
    assert_eq!(p.poll_timeout(), Some(100), "the request's deadline");
    p.advance(99);
    assert!(events(&mut p).is_empty());
    p.advance(100);
    assert_eq!(events(&mut p), [Event::Abort(t.id)]);
    let c = p.stats(100).counters;
    assert_eq!(
        (
            c.retries,
            p.stats(100).failures_by_code.get(ErrorCode::Timeout)
        ),
        (1, 1)
    );
    // A late answer is ignored; the record goes again after the backoff.
    p.handle_answer(t.id, status(200, &answer(&[OK])), 101);
    assert!(settled(&mut p).is_empty());
    let again = p.poll_transmit(100 + retry::TRANSIENT_BASE_MS).unwrap();
    p.handle_answer(again.id, status(200, &answer(&[OK])), 200);
    assert_eq!(ids(&settled(&mut p)), [0]);
}

#[test]
fn the_network_coming_back_ends_a_backoff_only_failed_connections_built() {
    let mut p = producer(r#""maxInFlightRequests":1"#);
    p.put(rec("a"), 0).unwrap();
    p.flush();
    let mut now = 0;
    for _ in 0..5 {
        now += p.stats(now).current_backoff_ms;
        let t = p.poll_transmit(now).unwrap();
        p.handle_network_error(t.id, "offline", now);
    }
    p.network_restored();
    assert_eq!(p.stats(now).current_backoff_ms, 0);
    let t = p.poll_transmit(now).expect("sent at once");
    // A backoff the service asked for stays.
    p.handle_answer(t.id, status(503, b""), now);
    let wait = p.stats(now).current_backoff_ms;
    p.network_restored();
    assert_eq!(p.stats(now).current_backoff_ms, wait);
}

#[test]
fn backoff_grows_with_consecutive_failures_and_resets_on_success() {
    let mut p = producer(r#""maxInFlightRequests":1"#);
    p.put(rec("a"), 0).unwrap();
    p.flush();
    let mut now = 0;
    for streak in 0..6 {
        let t = p.poll_transmit(now).unwrap();
        p.handle_answer(t.id, status(503, b""), now);
        let wait = p.stats(now).current_backoff_ms;
        let ceiling = (retry::TRANSIENT_BASE_MS << streak).min(retry::MAX_BACKOFF_MS);
        assert!(wait <= ceiling, "streak {streak}: {wait} > {ceiling}");
        now += wait;
    }
    let t = p.poll_transmit(now).unwrap();
    p.handle_answer(t.id, status(200, &answer(&[OK])), now);
    assert_eq!(settled(&mut p).len(), 1);
    assert_eq!(p.stats(now).current_backoff_ms, 0);
    assert_eq!(p.stats(0).counters.retries, 6);
}

#[test]
fn per_record_failures_neither_escalate_the_backoff_nor_spend_the_quota() {
    let mut p = producer("");
    let mut now = 0;
    for round in 0..200 {
        put_all(&mut p, &["a", "b"], now);
        p.flush();
        now += p.stats(now).current_backoff_ms;
        let t = p.poll_transmit(now).unwrap();
        let entries: Vec<&str> = if keys(&t).len() == 3 {
            vec![OK, INTERNAL, OK]
        } else {
            vec![OK, INTERNAL]
        };
        p.handle_answer(t.id, status(200, &answer(&entries)), now);
        assert!(
            p.stats(now).current_backoff_ms < retry::TRANSIENT_BASE_MS,
            "round {round}"
        );
    }
    assert!(!p.backoff.quota_exhausted());
}

#[test]
fn answers_with_per_record_failures_refill_a_spent_quota() {
    let mut p = producer(r#""recordTtlMs":"\u0000Infinity""#);
    let mut now = 0;
    p.put(rec("a"), 0).unwrap();
    p.flush();
    while !p.backoff.quota_exhausted() {
        let t = p.poll_transmit(now).unwrap();
        p.handle_answer(t.id, status(503, b""), now);
        now += p.stats(now).current_backoff_ms;
    }
    for _ in 0..retry::TRANSIENT_COST {
        p.put(rec("b"), now).unwrap();
        p.flush();
        now += p.stats(now).current_backoff_ms;
        let t = p.poll_transmit(now).unwrap();
        let entries: Vec<&str> = keys(&t)
            .iter()
            .map(|k| if k == "a" { INTERNAL } else { OK })
            .collect();
        p.handle_answer(t.id, status(200, &answer(&entries)), now);
    }
    assert!(
        !p.backoff.quota_exhausted(),
        "answers that came back refill the quota"
    );
}

#[test]
fn records_expire_after_their_ttl_and_never_with_infinity() {
    let mut p = producer(r#""recordTtlMs":1000"#);
    p.put(rec("a"), 0).unwrap();
    p.flush();
    let t = p.poll_transmit(0).unwrap();
    p.handle_answer(t.id, status(500, b"{}"), 10);
    assert!(settled(&mut p).is_empty());
    // The expiry is the next wake-up once backoff allows nothing sooner to happen.
    assert!(p.poll_timeout().unwrap() <= 1_000);
    p.advance(999);
    assert!(settled(&mut p).is_empty());
    p.advance(1_000);
    let s = settled(&mut p);
    let f = failure(&s[0]);
    assert_eq!(
        (f.code, f.last_code, f.status),
        (
            ErrorCode::Expired,
            Some(ErrorCode::ServiceUnavailable),
            Some(500)
        )
    );
    assert!(
        f.message.contains("recordTtlMs (1000 ms) after 1 attempts"),
        "{}",
        f.message
    );
    assert_eq!(p.stats(0).counters.records_expired, 1);

    let mut forever = producer(r#""recordTtlMs":"\u0000Infinity""#);
    forever.put(rec("a"), 0).unwrap();
    forever.advance(u64::MAX / 2);
    assert!(settled(&mut forever).is_empty());
}

#[test]
fn a_spent_retry_quota_slows_to_one_request_at_a_time() {
    let mut p = producer(
        r#""maxInFlightRequests":8,"maxRecordsPerRequest":1,"recordTtlMs":"\u0000Infinity""#,
    );
    for i in 0..8 {
        p.put(rec(&format!("k{i}")), 0).unwrap();
    }
    p.flush();
    let mut now = 0;
    for _ in 0..(retry::QUOTA_TOKENS / retry::TRANSIENT_COST + 1) {
        let t = p.poll_transmit(now).unwrap();
        p.handle_answer(t.id, status(500, b""), now);
        now += p.stats(now).current_backoff_ms;
    }
    assert!(p.poll_transmit(now).is_some());
    assert!(
        p.poll_transmit(now).is_none(),
        "only one request in flight while the quota is spent"
    );
    assert_eq!(p.stats(now).buffered_records, 7, "nothing dropped");
}

#[test]
fn a_full_buffer_refuses_or_holds_records_in_order() {
    let mut p = producer(r#""maxBufferedRecords":3,"onBufferFull":"reject""#);
    put_all(&mut p, &["a", "b", "c"], 0);
    assert!(matches!(
        p.put(rec("d"), 0),
        Err(Error::BufferFull { records: 3, .. })
    ));
    p.flush();
    let t = p.poll_transmit(0).unwrap();
    assert!(p.put(rec("d"), 0).is_err(), "in-flight records still count");
    p.handle_answer(t.id, status(200, &answer(&[OK, OK, OK])), 1);
    assert!(p.put(rec("d"), 1).is_ok(), "room again once they settled");

    let size = rec("k").size();
    let mut by_bytes = producer(&format!(
        r#""maxRecordBytes":{size},"maxBufferedBytes":{},"onBufferFull":"reject""#,
        2 * size
    ));
    put_all(&mut by_bytes, &["k", "k"], 0);
    let err = by_bytes.put(rec("k"), 0).unwrap_err();
    assert_eq!(err.code(), ErrorCode::BufferFull);
    assert!(err.to_string().contains("maxBufferedBytes"));

    // Waiting (the default): taken in order as settling makes room, and counted meanwhile.
    let mut w = producer(r#""maxBufferedRecords":2,"lingerMs":0"#);
    let ids_put: Vec<_> = ["a", "b", "c", "d"]
        .iter()
        .map(|k| w.put(rec(k), 0).unwrap())
        .collect();
    assert_eq!(
        ids_put,
        [0, 1, 2, 3],
        "waiting records get their ids in put order"
    );
    let s = w.stats(0);
    assert_eq!(
        (
            s.buffered_records,
            s.waiting_records,
            s.counters.records_accepted
        ),
        (2, 2, 2)
    );
    let t = w.poll_transmit(5).unwrap();
    assert_eq!(keys(&t), ["a", "b"]);
    w.handle_answer(t.id, status(200, &answer(&[OK, OK])), 6);
    assert_eq!(w.stats(6).waiting_records, 0);
    let t = w.poll_transmit(6).unwrap();
    assert_eq!(keys(&t), ["c", "d"]);
}

#[test]
fn records_that_expire_make_room_for_waiting_ones() {
    let mut p = producer(r#""maxBufferedRecords":2,"recordTtlMs":100,"lingerMs":10000"#);
    put_all(&mut p, &["a", "b", "c"], 0);
    assert_eq!(p.stats(0).waiting_records, 1);
    p.advance(150);
    assert_eq!(ids(&settled(&mut p)), [0, 1]);
    let s = p.stats(150);
    assert_eq!(
        (s.waiting_records, s.buffered_records),
        (0, 1),
        "c was taken once there was room"
    );
    p.advance(250);
    assert_eq!(
        failure(&settled(&mut p)[0]).code,
        ErrorCode::Expired,
        "its time to live starts when it is taken"
    );
}

#[test]
fn per_key_ordering_holds_a_keys_later_records_until_earlier_ones_succeed() {
    let mut p = producer(r#""ordering":"per-key""#);
    put_all(&mut p, &["a", "a", "b", "a", "c"], 0);
    p.flush();
    let first = p.poll_transmit(0).unwrap();
    assert_eq!(keys(&first), ["a", "b", "c"]);
    assert!(
        p.poll_transmit(0).is_none(),
        "a's next record waits for the one in flight"
    );
    assert_eq!(
        p.poll_timeout(),
        Some(10_000),
        "nothing to send until an answer: the request's deadline"
    );
    // a fails (retryable), b and c succeed: a goes again, still ahead of a's later records.
    p.handle_answer(first.id, status(200, &answer(&[INTERNAL, OK, OK])), 1);
    settled(&mut p);
    let mut now = 1 + p.stats(1).current_backoff_ms;
    let mut stored_a = Vec::new();
    while let Some(t) = p.poll_transmit(now) {
        assert_eq!(keys(&t), ["a"]);
        p.handle_answer(t.id, status(200, &answer(&[OK])), now);
        stored_a.extend(ids(&settled(&mut p)));
        now += 1 + p.stats(now).current_backoff_ms;
    }
    assert_eq!(
        stored_a,
        [0, 1, 3],
        "a's records stored one at a time, in put order"
    );
    assert!(p.is_idle());
}

#[test]
fn close_sends_the_rest_then_reports_closed() {
    let mut p = producer(r#""lingerMs":60000,"maxBufferedRecords":2"#);
    put_all(&mut p, &["a", "b", "c"], 0);
    p.close(None, 0);
    assert!(matches!(p.put(rec("late"), 0), Err(Error::Closed)));
    let t = p.poll_transmit(0).expect("closing flushes");
    p.handle_answer(t.id, status(200, &answer(&[OK, OK])), 1);
    let t = p.poll_transmit(1).expect("the waiting record goes too");
    assert_eq!(keys(&t), ["c"]);
    p.handle_answer(t.id, status(200, &answer(&[OK])), 2);
    let e = events(&mut p);
    assert_eq!(e.last(), Some(&Event::Closed));
    assert_eq!(e.iter().filter(|e| matches!(e, Event::Closed)).count(), 1);
    p.advance(3);
    assert!(events(&mut p).is_empty(), "closed once");
}

#[test]
fn a_close_deadline_settles_everything_left_as_closed_and_aborts_what_is_in_flight() {
    let mut p = producer(
        r#""maxBufferedRecords":2,"maxRecordsPerRequest":1,"maxInFlightRequests":1,"recordTtlMs":"\u0000Infinity""#,
    );
    put_all(&mut p, &["a", "b", "c"], 0);
    p.flush();
    let t = p.poll_transmit(0).unwrap();
    p.close(Some(200), 10);
    assert_eq!(p.poll_timeout(), Some(210));
    p.advance(210);
    let e = events(&mut p);
    assert!(e.contains(&Event::Abort(t.id)));
    assert_eq!(e.last(), Some(&Event::Closed));
    let s: Vec<_> = e
        .iter()
        .filter_map(|e| match e {
            Event::Settled(s) => Some(s),
            _ => None,
        })
        .collect();
    assert_eq!(
        s.iter().map(|s| s.id).collect::<Vec<_>>(),
        [0, 1, 2],
        "in flight, buffered and waiting"
    );
    assert!(s
        .iter()
        .all(|s| matches!(&s.outcome, Outcome::Failed(f) if f.code == ErrorCode::Closed)));
    let st = p.stats(210);
    assert_eq!(
        (
            st.buffered_records,
            st.in_flight_records,
            st.waiting_records,
            st.counters.records_failed
        ),
        (0, 0, 0, 3)
    );
    // Nothing goes after the deadline, not even a request already built.
    assert_eq!(p.sign(t.id, Payload::Body(&t.body), 211), None);
    p.handle_answer(t.id, status(200, &answer(&[OK])), 212);
    assert!(events(&mut p).is_empty());
}

#[test]
fn in_flight_limit_holds_batches_back() {
    let mut p = producer(r#""maxInFlightRequests":1"#);
    for i in 0..501 {
        p.put(rec(&format!("k{i}")), 0).unwrap();
    }
    let first = p.poll_transmit(0).unwrap();
    assert!(p.poll_transmit(1_000).is_none(), "second request must wait");
    assert_eq!(
        p.poll_timeout(),
        Some(10_000),
        "only the request's deadline"
    );
    p.handle_answer(first.id, status(200, &answer(&vec![OK; 500])), 1);
    assert_eq!(settled(&mut p).len(), 500);
    assert!(
        p.poll_transmit(100).is_some(),
        "the rest goes once its linger ends"
    );
}

#[test]
fn refused_records_change_nothing() {
    let mut p = producer("");
    p.put(rec("a"), 0).unwrap();
    assert!(matches!(
        p.put(rec(""), 0),
        Err(Error::InvalidRecord(RecordError::PartitionKeyRequired))
    ));
    let big = Record::new(&vec![b'x'; 1 << 20], "k", None);
    assert!(
        matches!(p.put(big, 0), Err(Error::InvalidRecord(RecordError::TooLarge { size, .. })) if size == (1 << 20) + 1)
    );
    assert_eq!(p.stats(0).counters.records_accepted, 1);
    assert_eq!(p.stats(0).buffered_records, 1);
    assert_eq!(p.next_record_id(), 1, "refused records take no id");
}

#[test]
fn a_record_alone_over_the_request_limit_is_refused() {
    let mut p = producer(r#""maxRequestBytes":1024"#);
    let err = p
        .put(Record::new(&vec![b'x'; 1024], "k", None), 0)
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidRecord(RecordError::TooLargeForRequest { limit: 1024, .. })
        ),
        "{err}"
    );
}

#[test]
fn clock_skew_and_expired_credentials_are_corrected_and_retried() {
    let mut p = producer("");
    let now = 1_700_000_000_000;
    p.put(rec("a"), now).unwrap();
    p.flush();
    let t = p.poll_transmit(now).unwrap();
    let body = br#"{"__type":"InvalidSignatureException","message":"Signature expired: 20231114T220000Z is now earlier than 20231114T221500Z"}"#;
    let server = now + 15 * 60_000;
    p.handle_answer(
        t.id,
        Answer {
            status: 400,
            error_type: None,
            date_ms: Some(server),
            body,
        },
        now,
    );
    assert!(settled(&mut p).is_empty(), "retried, not failed");
    assert_eq!(p.stats(now).clock_offset_ms, 15 * 60_000);
    let retry = p.poll_transmit(now + 1_000).unwrap();
    let headers = p
        .sign(retry.id, Payload::Body(&retry.body), now + 1_000)
        .unwrap();
    let date = headers.iter().find(|(k, _)| *k == "x-amz-date").unwrap();
    assert_eq!(date.1, crate::core::sigv4::date::amz_date(server + 1_000));
    // A small difference in a normal answer leaves the offset alone.
    let ok = answer(&[OK]);
    p.handle_answer(
        retry.id,
        Answer {
            status: 200,
            error_type: None,
            date_ms: Some(now + 61_000 + 15 * 60_000 + 30_000),
            body: &ok,
        },
        now + 61_000,
    );
    assert_eq!(p.stats(now).clock_offset_ms, 15 * 60_000);
}

fn provider(extra: &str) -> Producer {
    let sep = if extra.is_empty() { "" } else { "," };
    producer(&format!(
        r#""credentials":"\u0000function","lingerMs":0{sep}{extra}"#
    ))
}

fn creds(token: &str, expiration: Option<Millis>) -> Credentials {
    Credentials::new(
        "AKID".into(),
        "SECRET".into(),
        Some(token.into()),
        expiration,
    )
    .unwrap()
}

fn token_of(p: &mut Producer, t: &Transmit, now: Millis) -> String {
    let headers = p.sign(t.id, Payload::Body(&t.body), now).unwrap();
    headers
        .into_iter()
        .find(|(k, _)| *k == "x-amz-security-token")
        .unwrap()
        .1
}

#[test]
fn a_provider_is_asked_once_for_the_requests_due_and_again_before_expiry() {
    let mut p = provider(r#""maxRecordsPerRequest":1"#);
    put_all(&mut p, &["a", "b", "c"], 0);
    assert!(p.poll_transmit(0).is_none());
    assert_eq!(events(&mut p), [Event::CredentialsWanted]);
    assert!(p.poll_transmit(1).is_none());
    assert!(events(&mut p).is_empty(), "one ask at a time");
    // Expiring within the refresh margin: still serves the requests that waited for it.
    p.set_credentials(creds("t1", Some(30_000)));
    let sent: Vec<Transmit> = std::iter::from_fn(|| p.poll_transmit(5)).collect();
    assert_eq!(sent.len(), 3);
    assert!(sent.iter().all(|t| token_of(&mut p, t, 5) == "t1"));
    for t in &sent {
        p.handle_answer(t.id, status(200, &answer(&[OK])), 6);
    }
    assert!(events(&mut p)
        .iter()
        .all(|e| matches!(e, Event::Settled(_))));
    // A later request asks again and waits for the answer.
    p.put(rec("d"), 10).unwrap();
    assert!(p.poll_transmit(10).is_none());
    assert_eq!(events(&mut p), [Event::CredentialsWanted]);
    p.set_credentials(creds("t2", Some(3_600_000)));
    let t = p.poll_transmit(11).unwrap();
    assert_eq!(token_of(&mut p, &t, 11), "t2");
    // Refused as expired: asked again.
    p.handle_answer(
        t.id,
        status(
            400,
            br#"{"__type":"ExpiredTokenException","message":"expired"}"#,
        ),
        12,
    );
    assert!(p.poll_transmit(12 + retry::TRANSIENT_BASE_MS).is_none());
    assert_eq!(events(&mut p), [Event::CredentialsWanted]);
}

#[test]
fn a_failing_or_silent_provider_is_asked_again_and_records_settle_as_credentials_at_their_ttl() {
    let mut p = provider(r#""recordTtlMs":500,"requestTimeoutMs":100"#);
    p.put(rec("a"), 0).unwrap();
    let (mut now, mut asks, mut done) = (0, 0, Vec::new());
    loop {
        p.advance(now);
        p.poll_transmit(now);
        for e in events(&mut p) {
            match e {
                Event::CredentialsWanted => {
                    asks += 1;
                    // The first ask is never answered; later ones fail at once.
                    if asks > 1 {
                        p.credentials_failed(
                            &Error::Credentials("identity pool unreachable".into()),
                            now,
                        );
                    }
                }
                Event::Settled(s) => done.push(s),
                other => panic!("{other:?}"),
            }
        }
        if now == 100 {
            let why = &p.credentials.failure().unwrap().message;
            assert!(why.contains("did not answer within 100 ms"), "{why}");
        }
        if !done.is_empty() {
            break;
        }
        now = p.poll_timeout().map_or(now + 1, |t| t.max(now + 1));
        assert!(now <= 500, "settled by its time to live");
    }
    assert!(asks >= 3, "asked again after each failure ({asks})");
    let f = failure(&done[0]);
    assert_eq!(f.code, ErrorCode::Credentials);
    assert!(
        f.message.contains("recordTtlMs (500 ms)")
            && f.message.contains("identity pool unreachable"),
        "{}",
        f.message
    );
}

#[test]
fn unload_requests_ignore_linger_backoff_and_in_flight_but_keep_the_budget() {
    let mut p = producer(r#""lingerMs":60000,"maxInFlightRequests":1"#);
    for i in 0..40 {
        p.put(rec(&format!("k{i}")), 0).unwrap();
    }
    p.flush();
    // One request in flight already, the limit reached, and backing off: a normal request waits.
    let first = p.poll_transmit(0).unwrap();
    p.handle_network_error(first.id, "reset", 1);
    assert!(p.poll_transmit(1).is_none(), "backing off");
    let mut sent = 0;
    while let Some(t) = p.poll_unload_transmit(1, 1_000) {
        assert!(t.body.len() <= 1_000, "{}", t.body.len());
        assert!(p.sign(t.id, Payload::Body(&t.body), 1).is_some());
        sent += keys(&t).len();
    }
    assert_eq!(sent, 40, "every record within the budget, several requests");
    // A record larger than the budget is not sent (it stays for the spool or the next page).
    p.put(Record::new(&vec![b'x'; 2_000], "big", None), 2)
        .unwrap();
    assert!(p.poll_unload_transmit(2, 1_000).is_none());
    assert_eq!(p.stats(2).buffered_records, 1);
    assert!(p.poll_unload_transmit(2, 64 * 1024).is_some());
    // Without credentials in hand nothing can be signed in time.
    let mut q = provider("");
    q.put(rec("a"), 0).unwrap();
    assert!(q.poll_unload_transmit(0, 64 * 1024).is_none());
}
