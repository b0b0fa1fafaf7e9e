//! The producer and its stream's settings (`DescribeStreamSummary`, `streamSettings`): asked
//! beside the first records without holding them, `AUTO` before any aggregate, the stream's
//! record limit, a stream being created or gone, a refused call, settings shared by producers.

use super::tests::{answer, failure, producer, rec, settled, status};
use super::*;
use crate::core::engine::stream_settings::{CREATING_POLL_MS, SETTINGS_REUSE_MS};
use crate::core::model::config::MIB;
use crate::core::model::options::Options;
use crate::core::model::stream::StreamStatus;

const OK: &str = r#"{"SequenceNumber":"1","ShardId":"shardId-0"}"#;
/// A `ListShards` answer: one shard over the whole hash key space.
pub const ONE_SHARD: &str = r#"{"Shards":[{"ShardId":"s0","HashKeyRange":{"StartingHashKey":"0","EndingHashKey":"340282366920938463463374607431768211455"},"SequenceNumberRange":{"StartingSequenceNumber":"1"}}]}"#;

/// A producer that asks the stream for its settings, with these extra options.
fn asking(extra: &str) -> Producer {
    let text = format!(
        r#"{{"region":"us-east-1","streamName":"readings","credentials":{{"accessKeyId":"A","secretAccessKey":"S"}}{extra}}}"#
    );
    Producer::new(
        Config::from_options(&Options::from_json(&text, "options").unwrap()).unwrap(),
        1,
    )
}

fn summary(status: &str, extra: &str) -> String {
    format!(
        r#"{{"StreamDescriptionSummary":{{"StreamName":"readings","StreamStatus":"{status}","OpenShardCount":1{extra}}}}}"#
    )
}

fn describing(t: &Transmit) -> bool {
    t.operation == Operation::DescribeStreamSummary
}

/// A record of exactly `bytes` (data plus its one-byte key).
fn sized(bytes: usize) -> Record {
    Record::new(&vec![b'x'; bytes - 1], "k", None)
}

/// Records of a `PutRecords` body.
fn entry_count(t: &Transmit) -> usize {
    let body: serde_json::Value = serde_json::from_slice(&t.body).unwrap();
    body["Records"].as_array().unwrap().len()
}

#[test]
fn plain_records_do_not_wait_for_the_settings() {
    let mut p = asking("");
    p.put(rec("a"), 0).unwrap();
    p.flush();
    let describe = p.poll_transmit(0).unwrap();
    assert!(describing(&describe));
    assert_eq!(describe.body, br#"{"StreamName":"readings"}"#);
    let put = p.poll_transmit(0).unwrap();
    assert_eq!(
        put.operation,
        Operation::PutRecords,
        "sent before the answer"
    );
    p.handle_answer(put.id, status(200, &answer(&[OK])), 5);
    assert_eq!(settled(&mut p).len(), 1);
    p.handle_answer(
        describe.id,
        status(200, summary("ACTIVE", "").as_bytes()),
        6,
    );
    assert!(p.is_idle());
    assert_eq!(p.stream_settings(), Some((StreamSettings::default(), 6)));
    // Without aggregation it is not asked again.
    p.put(rec("b"), 100_000).unwrap();
    p.flush();
    let next = p.poll_transmit(100_000).unwrap();
    assert_eq!(next.operation, Operation::PutRecords);
}

#[test]
fn an_auto_stream_turns_aggregation_off_before_the_first_aggregate() {
    let mut p = asking(r#","aggregation":true"#);
    for k in ["a", "b", "a", "c"] {
        p.put(rec(k), 0).unwrap();
    }
    p.flush();
    let describe = p.poll_transmit(0).unwrap();
    let list = p.poll_transmit(0).unwrap();
    assert!(describing(&describe));
    assert_eq!(list.operation, Operation::ListShards);
    p.handle_answer(list.id, status(200, ONE_SHARD.as_bytes()), 1);
    assert!(
        p.poll_transmit(1).is_none(),
        "the map alone does not let aggregates go"
    );
    let auto = summary(
        "ACTIVE",
        r#","StreamModeDetails":{"StreamMode":"ON_DEMAND"},"RecordDistributionStrategy":"AUTO""#,
    );
    p.handle_answer(describe.id, status(200, auto.as_bytes()), 2);
    let put = p.poll_transmit(2).unwrap();
    assert_eq!(entry_count(&put), 4, "one Kinesis record per user record");
    let stats = p.stats(2);
    assert_eq!(stats.aggregation, AggregationMode::AutoDistribution);
    assert!(stats
        .aggregation_note
        .unwrap()
        .contains("DescribeStreamSummary"));

    // The refresh finds the stream back on partition keys: aggregation resumes.
    p.handle_answer(put.id, status(200, &answer(&[OK, OK, OK, OK])), 3);
    let later = 3 + 60_000;
    for k in ["a", "a"] {
        p.put(rec(k), later).unwrap();
    }
    p.flush();
    let again = p.poll_transmit(later).unwrap();
    assert!(describing(&again), "asked again with the map's refresh");
    p.handle_answer(
        again.id,
        status(200, summary("ACTIVE", "").as_bytes()),
        later,
    );
    assert_eq!(p.stats(later).aggregation, AggregationMode::ByShard);
    let relist = p.poll_transmit(later).unwrap();
    assert_eq!(relist.operation, Operation::ListShards);
    p.handle_answer(relist.id, status(200, ONE_SHARD.as_bytes()), later);
    let packed = p.poll_transmit(later).unwrap();
    assert_eq!(entry_count(&packed), 1, "one aggregate of two");
}

#[test]
fn given_settings_save_the_call_and_auto_keeps_aggregation_off() {
    let mut p = producer(
        r#""aggregation":true,"streamSettings":{"recordDistributionStrategy":"AUTO","maxRecordSizeInKiB":2048}"#,
    );
    assert_eq!(p.stats(0).aggregation, AggregationMode::AutoDistribution);
    p.put(rec("a"), 0).unwrap();
    p.put(rec("a"), 0).unwrap();
    p.flush();
    let put = p.poll_transmit(0).unwrap();
    assert_eq!(
        put.operation,
        Operation::PutRecords,
        "no call, no map: AUTO"
    );
    assert_eq!(entry_count(&put), 2);
    let err = p.put(sized(2 * MIB + 1), 0).unwrap_err();
    assert!(err.to_string().contains("2097152"), "{err}");
    assert!(p.put(sized(2 * MIB), 0).is_ok());
}

#[test]
fn records_over_a_mebibyte_wait_for_the_streams_limit() {
    for (kib, taken) in [(10_240, true), (1_024, false)] {
        let mut p = asking("");
        let three = p.put(sized(3 * MIB), 0).unwrap();
        let small = p.put(rec("a"), 0).unwrap();
        p.flush();
        let describe = p.poll_transmit(0).unwrap();
        let put = p.poll_transmit(0).unwrap();
        assert_eq!(
            entry_count(&put),
            1,
            "only the small record goes before the answer"
        );
        assert_eq!(p.stats(0).buffered_records, 1, "the large one is held");
        p.handle_answer(put.id, status(200, &answer(&[OK])), 1);
        assert_eq!(settled(&mut p)[0].id, small);
        let answer_body = summary("ACTIVE", &format!(r#","MaxRecordSizeInKiB":{kib}"#));
        p.handle_answer(describe.id, status(200, answer_body.as_bytes()), 2);
        if taken {
            let put = p.poll_transmit(2).unwrap();
            assert_eq!(entry_count(&put), 1);
            p.handle_answer(put.id, status(200, &answer(&[OK])), 3);
            let s = settled(&mut p);
            assert!(matches!(s[0].outcome, Outcome::Acked(_)));
            // Known now: 10 MiB takes a record of 10 MiB, sent alone.
            assert!(p.put(sized(10 * MIB), 3).is_ok());
        } else {
            let s = settled(&mut p);
            assert_eq!(s[0].id, three);
            let f = failure(&s[0]);
            assert_eq!(f.code, ErrorCode::InvalidRecord);
            assert!(f.message.contains("1048576"), "{}", f.message);
            let err = p.put(sized(MIB + 1), 3).unwrap_err();
            assert!(
                matches!(err, Error::InvalidRecord(_)),
                "refused at put once known"
            );
        }
        assert!(p.is_idle() || taken);
    }
}

#[test]
fn the_request_limit_counts_data_and_keys_not_the_base64_body() {
    let mut p = producer(r#""streamSettings":{"maxRecordSizeInKiB":10240}"#);
    let ten = p.put(sized(10 * MIB), 0).unwrap();
    p.put(sized(6 * MIB), 0).unwrap();
    p.put(sized(4 * MIB), 0).unwrap();
    p.flush();
    let first = p.poll_transmit(0).unwrap();
    assert_eq!(entry_count(&first), 1, "10 MiB alone (its body is 13.3 MB)");
    assert!(first.body.len() > 13 * 1_000_000);
    p.handle_answer(first.id, status(200, &answer(&[OK])), 1);
    assert_eq!(settled(&mut p)[0].id, ten);
    let second = p.poll_transmit(1).unwrap();
    assert_eq!(
        entry_count(&second),
        2,
        "6 + 4 MiB fill one request exactly"
    );
    let err = producer(r#""maxRequestBytes":2048"#)
        .put(sized(2049), 0)
        .unwrap_err();
    assert!(err.to_string().contains("2049 bytes"), "{err}");
}

#[test]
fn a_stream_being_created_is_waited_for() {
    let mut p = asking(r#","maxRecordsPerRequest":1"#);
    let a = p.put(rec("a"), 0).unwrap();
    let late_record = p.put(rec("late"), 0).unwrap();
    p.flush();
    let describe = p.poll_transmit(0).unwrap();
    let put = p.poll_transmit(0).unwrap();
    let late = p.poll_transmit(0).unwrap();
    assert_eq!(late.operation, Operation::PutRecords);
    // The stream is not active yet: Kinesis answers as if it did not exist.
    let gone = br#"{"__type":"ResourceNotFoundException","message":"Stream readings under account 1 not found."}"#;
    p.handle_answer(put.id, status(400, gone), 1);
    assert!(settled(&mut p).is_empty(), "held for the settings");
    p.handle_answer(
        describe.id,
        status(200, summary("CREATING", "").as_bytes()),
        2,
    );
    assert!(p.poll_transmit(2).is_none(), "nothing goes while CREATING");
    // A request sent before the answer and refused after it waits too.
    let b = p.put(rec("b"), 2).unwrap();
    p.handle_answer(late.id, status(400, gone), 3);
    assert!(settled(&mut p).is_empty());
    assert_eq!(p.poll_timeout(), Some(2 + CREATING_POLL_MS));
    let again = p.poll_transmit(2 + CREATING_POLL_MS).unwrap();
    assert!(describing(&again));
    p.handle_answer(
        again.id,
        status(200, summary("ACTIVE", "").as_bytes()),
        1_100,
    );
    let mut acked = Vec::new();
    while let Some(put) = p.poll_transmit(1_100) {
        assert_eq!(put.operation, Operation::PutRecords);
        p.handle_answer(put.id, status(200, &answer(&[OK])), 1_200);
        acked.extend(settled(&mut p).into_iter().map(|s| {
            assert!(matches!(s.outcome, Outcome::Acked(_)));
            s.id
        }));
    }
    acked.sort_unstable();
    assert_eq!(acked, [a, late_record, b]);
}

#[test]
fn a_missing_stream_settles_what_is_buffered_at_once() {
    let mut p = asking(r#","aggregation":true"#);
    for k in ["a", "b"] {
        p.put(rec(k), 0).unwrap();
    }
    p.put(sized(2 * MIB), 0).unwrap();
    p.flush();
    let describe = p.poll_transmit(0).unwrap();
    let _list = p.poll_transmit(0).unwrap();
    let gone = br#"{"__type":"ResourceNotFoundException","message":"Stream readings not found."}"#;
    p.handle_answer(describe.id, status(400, gone), 1);
    let s = settled(&mut p);
    assert_eq!(s.len(), 3);
    assert!(s.iter().all(|s| failure(s).code == ErrorCode::NotFound));

    // Deleting counts as gone.
    let mut p = asking("");
    p.put(sized(2 * MIB), 0).unwrap();
    let describe = p.poll_transmit(0).unwrap();
    p.handle_answer(
        describe.id,
        status(200, summary("DELETING", "").as_bytes()),
        1,
    );
    assert_eq!(failure(&settled(&mut p)[0]).code, ErrorCode::NotFound);
    assert!(p.is_idle());
}

#[test]
fn a_refused_call_is_not_repeated_and_limits_are_assumed() {
    let mut p = asking(r#","aggregation":true"#);
    let large = p.put(sized(2 * MIB), 0).unwrap();
    p.put(rec("a"), 0).unwrap();
    p.flush();
    let describe = p.poll_transmit(0).unwrap();
    let list = p.poll_transmit(0).unwrap();
    let denied = br#"{"__type":"AccessDeniedException","message":"not authorized to perform: kinesis:DescribeStreamSummary"}"#;
    p.handle_answer(describe.id, status(400, denied), 1);
    let s = settled(&mut p);
    assert_eq!(s[0].id, large);
    assert_eq!(
        failure(&s[0]).code,
        ErrorCode::InvalidRecord,
        "over the assumed 1 MiB"
    );
    let note = p.stats(1).stream_note.unwrap();
    assert!(
        note.contains("DescribeStreamSummary") && note.contains("1048576"),
        "{note}"
    );
    p.handle_answer(list.id, status(200, ONE_SHARD.as_bytes()), 2);
    let put = p.poll_transmit(2).unwrap();
    assert_eq!(
        put.operation,
        Operation::PutRecords,
        "aggregation goes on as before"
    );
    p.handle_answer(put.id, status(200, &answer(&[OK])), 3);
    for t in [10_000, 100_000, 1_000_000] {
        p.put(rec("a"), t).unwrap();
        p.flush();
        let next = p.poll_transmit(t);
        assert!(
            next.as_ref().is_none_or(|n| !describing(n)),
            "never asked again"
        );
        if let Some(n) = next {
            if n.operation == Operation::ListShards {
                p.handle_answer(n.id, status(200, ONE_SHARD.as_bytes()), t);
                let put = p.poll_transmit(t).unwrap();
                p.handle_answer(put.id, status(200, &answer(&[OK])), t);
            } else {
                p.handle_answer(n.id, status(200, &answer(&[OK])), t);
            }
        }
    }
    // With maxRecordBytes given, that is the assumed limit.
    let mut p = asking(r#","maxRecordBytes":3145728"#);
    p.put(sized(2 * MIB), 0).unwrap();
    let describe = p.poll_transmit(0).unwrap();
    p.handle_answer(describe.id, status(400, denied), 1);
    assert!(settled(&mut p).is_empty());
    p.flush();
    assert_eq!(p.poll_transmit(1).unwrap().operation, Operation::PutRecords);
}

#[test]
fn a_fresh_answer_is_shared_with_the_streams_next_producer() {
    let settings = StreamSettings {
        status: StreamStatus::Active,
        auto_distribution: true,
        max_record_bytes: 4 * MIB,
    };
    let mut p = asking(r#","aggregation":true"#);
    p.adopt_stream_settings(settings, 1_000, 1_000 + SETTINGS_REUSE_MS - 1);
    assert_eq!(p.stats(0).aggregation, AggregationMode::AutoDistribution);
    p.put(sized(4 * MIB), 0).unwrap();
    p.flush();
    let put = p.poll_transmit(0).unwrap();
    assert_eq!(put.operation, Operation::PutRecords, "no call of its own");

    let mut stale = asking("");
    stale.adopt_stream_settings(settings, 1_000, 1_000 + SETTINGS_REUSE_MS);
    stale.put(rec("a"), 0).unwrap();
    stale.flush();
    assert!(
        describing(&stale.poll_transmit(0).unwrap()),
        "too old: asked"
    );
}

#[test]
fn records_without_a_partition_key_go_to_an_auto_stream_only() {
    let auto = summary("ACTIVE", r#","RecordDistributionStrategy":"AUTO""#);
    for (answer_body, taken) in [(auto.clone(), true), (summary("ACTIVE", ""), false)] {
        let mut p = asking("");
        let keyless = p.put(rec(""), 0).unwrap();
        let keyed = p.put(rec("a"), 0).unwrap();
        p.flush();
        let describe = p.poll_transmit(0).unwrap();
        let put = p.poll_transmit(0).unwrap();
        assert_eq!(
            entry_count(&put),
            1,
            "the keyless record waits for the answer"
        );
        p.handle_answer(put.id, status(200, &answer(&[OK])), 1);
        assert_eq!(settled(&mut p)[0].id, keyed);
        p.handle_answer(describe.id, status(200, answer_body.as_bytes()), 2);
        if taken {
            let put = p.poll_transmit(2).unwrap();
            let body: serde_json::Value = serde_json::from_slice(&put.body).unwrap();
            let entry = &body["Records"][0];
            assert!(
                entry.get("PartitionKey").is_none(),
                "sent without one: {entry}"
            );
            assert_eq!(
                put.body.len(),
                put_records::Framing::new(&p.config().target)
                    .body_len(1, put_records::entry_len(&rec("")))
            );
            p.handle_answer(put.id, status(200, &answer(&[OK])), 3);
            assert!(matches!(settled(&mut p)[0].outcome, Outcome::Acked(_)));
            assert!(
                p.put(rec(""), 3).is_ok(),
                "taken at put once the stream is known AUTO"
            );
        } else {
            let s = settled(&mut p);
            assert_eq!(s[0].id, keyless);
            assert!(failure(&s[0]).message.contains("partitionKey is required"));
            assert!(p.put(rec(""), 3).is_err(), "refused at put once known");
        }
    }

    // The stream goes back to partition keys (a refresh's answer): keyless records still
    // buffered cannot go.
    let mut r = asking(r#","aggregation":{"shardMapRefreshMs":1000},"lingerMs":60000"#);
    r.put(rec("c"), 0).unwrap();
    let describe = r.poll_transmit(0).unwrap();
    let list = r.poll_transmit(0).unwrap();
    r.handle_answer(describe.id, status(200, auto.as_bytes()), 1);
    r.handle_answer(list.id, status(200, br#"{"Shards":[]}"#), 1);
    let lost = r.put(rec(""), 2).unwrap();
    let again = r.poll_transmit(1_001).unwrap();
    assert!(describing(&again), "asked again with the refresh");
    r.handle_answer(
        again.id,
        status(200, summary("ACTIVE", "").as_bytes()),
        1_002,
    );
    let s = settled(&mut r);
    assert_eq!(s.iter().map(|s| s.id).collect::<Vec<_>>(), [lost]);
    assert!(failure(&s[0]).message.contains("partitionKey is required"));
    assert_eq!(
        r.stats(1_002).aggregation,
        AggregationMode::WaitingForShardMap
    );
}

#[test]
fn per_key_order_holds_through_records_held_for_the_settings() {
    let mut p = asking(r#","ordering":"per-key","lingerMs":0"#);
    let large = p.put(sized(2 * MIB), 0).unwrap();
    let small = p.put(rec("k"), 0).unwrap();
    let other = p.put(rec("other"), 0).unwrap();
    let describe = p.poll_transmit(0).unwrap();
    let put = p.poll_transmit(0).unwrap();
    assert_eq!(
        entry_count(&put),
        1,
        "only the other key goes: `k` waits behind its held record"
    );
    p.handle_answer(put.id, status(200, &answer(&[OK])), 1);
    assert_eq!(settled(&mut p)[0].id, other);
    let big_stream = summary("ACTIVE", r#","MaxRecordSizeInKiB":10240"#);
    p.handle_answer(describe.id, status(200, big_stream.as_bytes()), 2);
    let mut order = Vec::new();
    while let Some(t) = p.poll_transmit(2) {
        p.handle_answer(t.id, status(200, &answer(&[OK])), 3);
        order.extend(settled(&mut p).iter().map(|s| s.id));
    }
    assert_eq!(order, [large, small]);
}

#[test]
fn records_refused_while_the_stream_is_created_keep_their_keys_order() {
    let mut p = asking(r#","ordering":"per-key","lingerMs":0"#);
    let first = p.put(rec("k"), 0).unwrap();
    let second = p.put(rec("k"), 0).unwrap();
    let describe = p.poll_transmit(0).unwrap();
    let put = p.poll_transmit(0).unwrap();
    assert!(p.poll_transmit(0).is_none(), "one record of `k` in flight");
    let gone = br#"{"__type":"ResourceNotFoundException","message":"Stream readings not found."}"#;
    p.handle_answer(put.id, status(400, gone), 1);
    assert!(
        p.poll_transmit(1).is_none(),
        "`k` stays busy while its record is held"
    );
    p.handle_answer(
        describe.id,
        status(200, summary("ACTIVE", "").as_bytes()),
        2,
    );
    let mut order = Vec::new();
    while let Some(t) = p.poll_transmit(2) {
        p.handle_answer(t.id, status(200, &answer(&[OK])), 3);
        order.extend(settled(&mut p).iter().map(|s| s.id));
    }
    assert_eq!(order, [first, second]);
}

#[test]
fn held_records_expire_at_their_time_to_live() {
    let mut p = asking(r#","recordTtlMs":1000"#);
    let large = p.put(sized(2 * MIB), 0).unwrap();
    let describe = p.poll_transmit(0).unwrap();
    assert!(describing(&describe));
    assert_eq!(p.poll_timeout(), Some(1_000), "its expiry wakes the host");
    assert!(p.poll_transmit(1_000).is_none());
    let s = settled(&mut p);
    assert_eq!((s[0].id, failure(&s[0]).code), (large, ErrorCode::Expired));
    assert_eq!(p.stats(1_000).buffered_records, 0);
}

#[test]
fn a_throttled_call_is_asked_again_before_aggregates_or_limits_are_assumed() {
    let throttled =
        br#"{"__type":"LimitExceededException","message":"Rate exceeded for stream readings"}"#;
    let mut p = asking(r#","aggregation":true"#);
    for k in ["a", "a", "a"] {
        p.put(rec(k), 0).unwrap();
    }
    p.flush();
    let describe = p.poll_transmit(0).unwrap();
    let list = p.poll_transmit(0).unwrap();
    p.handle_answer(describe.id, status(400, throttled), 1);
    p.handle_answer(list.id, status(200, ONE_SHARD.as_bytes()), 1);
    assert!(
        p.poll_transmit(1).is_none(),
        "no aggregate before the settings are known"
    );
    assert!(p.stats(1).stream_note.is_none());
    let again = p.poll_transmit(5_001).unwrap();
    assert!(describing(&again));
    let auto = summary("ACTIVE", r#","RecordDistributionStrategy":"AUTO""#);
    p.handle_answer(again.id, status(200, auto.as_bytes()), 5_002);
    let put = p.poll_transmit(5_002).unwrap();
    assert_eq!(entry_count(&put), 3, "plain records to the AUTO stream");

    // A refresh that fails keeps what the stream said.
    let mut p = asking(r#","aggregation":{"shardMapRefreshMs":1000},"lingerMs":0"#);
    p.put(rec("a"), 0).unwrap();
    let describe = p.poll_transmit(0).unwrap();
    let list = p.poll_transmit(0).unwrap();
    let big_stream = summary("ACTIVE", r#","MaxRecordSizeInKiB":10240"#);
    p.handle_answer(describe.id, status(200, big_stream.as_bytes()), 1);
    p.handle_answer(list.id, status(200, ONE_SHARD.as_bytes()), 1);
    let put = p.poll_transmit(1).unwrap();
    p.handle_answer(put.id, status(200, &answer(&[OK])), 2);
    p.put(rec("b"), 1_001).unwrap();
    let refresh = p.poll_transmit(1_001).unwrap();
    assert!(describing(&refresh));
    p.handle_answer(refresh.id, status(400, throttled), 1_002);
    assert!(
        p.put(sized(3 * MIB), 1_002).is_ok(),
        "still a 10 MiB stream"
    );
}

#[test]
fn aggregates_stay_within_the_streams_record_limit() {
    let mut p = producer(r#""aggregation":{"maxBytes":4194304},"streamSettings":{},"lingerMs":0"#);
    for _ in 0..30 {
        p.put(Record::new(&vec![b'x'; 100_000], "k", None), 0)
            .unwrap();
    }
    let list = p.poll_transmit(0).unwrap();
    p.handle_answer(list.id, status(200, ONE_SHARD.as_bytes()), 0);
    let put = p.poll_transmit(0).unwrap();
    let body: serde_json::Value = serde_json::from_slice(&put.body).unwrap();
    for entry in body["Records"].as_array().unwrap() {
        let data = entry["Data"].as_str().unwrap().len() / 4 * 3;
        assert!(
            data <= MIB,
            "an aggregate of {data} bytes for a 1 MiB stream"
        );
    }
    assert!(body["Records"].as_array().unwrap().len() >= 3);
}
