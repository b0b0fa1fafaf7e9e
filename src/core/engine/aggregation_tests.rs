//! Aggregation through the producer: packing by shard, the shard map's lifecycle, and records
//! landing on unexpected shards (reshards, `AUTO` distribution).

use super::tests;
use super::*;
use crate::core::engine::shard_map::ShardMap;
use crate::core::kpl::MAGIC;

const HALF: u128 = u128::MAX / 2;

fn producer(ordering: Option<&str>) -> Producer {
    match ordering {
        Some(o) => tests::producer(&format!(r#""aggregation":true,"ordering":"{o}""#)),
        None => tests::producer(r#""aggregation":true"#),
    }
}

fn rec(key: &str) -> Record {
    Record::new(format!("{{\"device\":\"{key}\"}}").as_bytes(), key, None)
}

fn is_listing(req: &Transmit) -> bool {
    req.operation == Operation::ListShards
}

fn shards(ranges: &[(&str, u128, u128)]) -> String {
    let listed: Vec<String> = ranges
        .iter()
        .map(|(id, start, end)| {
            format!(
                r#"{{"ShardId":"{id}","HashKeyRange":{{"StartingHashKey":"{start}","EndingHashKey":"{end}"}},"SequenceNumberRange":{{"StartingSequenceNumber":"1"}}}}"#
            )
        })
        .collect();
    format!(r#"{{"Shards":[{}]}}"#, listed.join(","))
}

fn two_shards() -> String {
    shards(&[("low", 0, HALF), ("high", HALF + 1, u128::MAX)])
}

fn answer(p: &mut Producer, req: &Transmit, status: u16, body: &str) -> Vec<Settlement> {
    p.handle_answer(req.id, tests::status(status, body.as_bytes()), 10);
    tests::settled(p)
}

/// The Kinesis records of a `PutRecords` body: (data, partition key, explicit hash key).
fn entries(req: &Transmit) -> Vec<(Vec<u8>, String, Option<String>)> {
    use base64::Engine as _;
    let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
    body["Records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                base64::engine::general_purpose::STANDARD
                    .decode(r["Data"].as_str().unwrap())
                    .unwrap(),
                r["PartitionKey"].as_str().unwrap().to_owned(),
                r["ExplicitHashKey"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

fn acks(shard_ids: &[&str]) -> String {
    let entries: Vec<String> = shard_ids
        .iter()
        .enumerate()
        .map(|(i, s)| format!(r#"{{"SequenceNumber":"{}","ShardId":"{s}"}}"#, 100 + i))
        .collect();
    format!(
        r#"{{"FailedRecordCount":0,"Records":[{}]}}"#,
        entries.join(",")
    )
}

/// Keys that hash into the low and the high half.
fn keys_by_half() -> (Vec<String>, Vec<String>) {
    (0..40)
        .map(|i| format!("device-{i}"))
        .partition(|k| rec(k).hash_key() <= HALF)
}

fn acked(settled: &[Settlement]) -> Vec<(u64, String, Option<u32>)> {
    settled
        .iter()
        .map(|s| match &s.outcome {
            Outcome::Acked(a) => (s.id, a.shard_id.to_string(), a.sub_sequence_number),
            Outcome::Failed(f) => panic!("record {} failed: {f}", s.id),
        })
        .collect()
}

/// Put records, load the map from `list` and return the first PutRecords request.
fn start(p: &mut Producer, keys: &[&str], list: &str) -> Transmit {
    for k in keys {
        p.put(rec(k), 0).unwrap();
    }
    p.flush();
    let listing = p.poll_transmit(0).unwrap();
    assert!(is_listing(&listing));
    assert_eq!(listing.body, br#"{"StreamName":"readings"}"#);
    assert!(
        p.poll_transmit(0).is_none(),
        "records wait for the first map"
    );
    assert_eq!(p.stats(0).aggregation, AggregationMode::WaitingForShardMap);
    assert!(answer(p, &listing, 200, list).is_empty());
    p.poll_transmit(0).unwrap()
}

#[test]
fn records_are_packed_per_shard_and_acked_with_subsequence_numbers() {
    let (low, high) = keys_by_half();
    let mut p = producer(None);
    let keys = [&low[0], &high[0], &low[1], &high[1], &low[0]].map(String::as_str);
    let req = start(&mut p, &keys, &two_shards());
    let sent = entries(&req);
    assert_eq!(sent.len(), 2);
    for (data, _, hash) in &sent {
        assert!(data.starts_with(&MAGIC));
        let h: u128 = hash.as_deref().unwrap().parse().unwrap();
        assert_eq!(h <= HALF, std::ptr::eq(data, &sent[0].0));
    }
    let settled = answer(&mut p, &req, 200, &acks(&["low", "high"]));
    assert_eq!(
        acked(&settled),
        [
            (0, "low".into(), Some(0)),
            (2, "low".into(), Some(1)),
            (4, "low".into(), Some(2)),
            (1, "high".into(), Some(0)),
            (3, "high".into(), Some(1)),
        ]
    );
    let stats = p.stats(0);
    assert_eq!(stats.aggregation, AggregationMode::ByShard);
    assert_eq!(
        (
            stats.counters.records_sent,
            stats.counters.kinesis_records_sent
        ),
        (5, 2)
    );
    assert_eq!(
        (
            stats.counters.kinesis_records_acknowledged,
            stats.counters.put_payload_units
        ),
        (2, 2)
    );
    assert_eq!(stats.shard_count, 2);
    assert!(p.is_idle());
}

#[test]
fn a_failed_aggregate_is_retried_whole_and_nothing_else_is() {
    let (low, high) = keys_by_half();
    let mut p = producer(None);
    let keys = [&low[0], &high[0], &low[1], &high[1]].map(String::as_str);
    let req = start(&mut p, &keys, &two_shards());
    let body = r#"{"FailedRecordCount":1,"Records":[{"SequenceNumber":"7","ShardId":"low"},
        {"ErrorCode":"ProvisionedThroughputExceededException","ErrorMessage":"slow"}]}"#;
    let settled = answer(&mut p, &req, 200, body);
    assert_eq!(acked(&settled).len(), 2);
    assert_eq!(p.stats(0).buffered_records, 2);
    let again = p.poll_transmit(2_000).unwrap();
    let sent = entries(&again);
    assert_eq!(sent.len(), 1, "the two high records, aggregated again");
    let settled = answer(&mut p, &again, 200, &acks(&["high"]));
    assert_eq!(
        acked(&settled),
        [(1, "high".into(), Some(0)), (3, "high".into(), Some(1))]
    );
    assert_eq!(p.stats(0).counters.records_sent, 6);
}

#[test]
fn pages_are_followed_with_the_token_alone() {
    let (low, high) = keys_by_half();
    let mut p = producer(None);
    p.put(rec(&low[0]), 0).unwrap();
    p.put(rec(&high[0]), 0).unwrap();
    p.put(rec(&high[1]), 0).unwrap();
    p.flush();
    let first = p.poll_transmit(0).unwrap();
    let page = r#"{"Shards":[{"ShardId":"low","HashKeyRange":{"StartingHashKey":"0","EndingHashKey":"170141183460469231731687303715884105727"}}],"NextToken":"page-2"}"#;
    answer(&mut p, &first, 200, page);
    let second = p.poll_transmit(0).unwrap();
    assert_eq!(second.body, br#"{"NextToken":"page-2"}"#);
    assert!(p.poll_transmit(0).is_none(), "still waiting for the map");
    answer(
        &mut p,
        &second,
        200,
        &shards(&[("high", HALF + 1, u128::MAX)]),
    );
    let req = p.poll_transmit(0).unwrap();
    assert_eq!(p.stats(0).shard_count, 2);
    assert_eq!(entries(&req).len(), 2);
}

#[test]
fn refused_list_shards_falls_back_to_partition_keys_and_says_so() {
    let mut p = producer(None);
    for k in ["a", "b", "a", "a"] {
        p.put(rec(k), 0).unwrap();
    }
    p.flush();
    let listing = p.poll_transmit(0).unwrap();
    answer(
        &mut p,
        &listing,
        400,
        r#"{"__type":"AccessDeniedException","message":"no kinesis:ListShards"}"#,
    );
    let stats = p.stats(0);
    assert_eq!(stats.aggregation, AggregationMode::ByPartitionKey);
    let note = stats.aggregation_note.unwrap();
    assert!(
        note.contains("AccessDenied") && note.contains("lifetime"),
        "{note}"
    );
    let req = p.poll_transmit(0).unwrap();
    let sent = entries(&req);
    assert_eq!(
        sent.iter()
            .map(|(_, k, h)| (k.as_str(), h.is_some()))
            .collect::<Vec<_>>(),
        [("a", false), ("b", false)]
    );
    assert!(sent[0].0.starts_with(&MAGIC));
    assert_eq!(
        sent[1].0,
        rec("b").data(),
        "a lone record travels as itself"
    );
    let settled = answer(&mut p, &req, 200, &acks(&["s1", "s2"]));
    assert_eq!(
        acked(&settled),
        [
            (0, "s1".into(), Some(0)),
            (2, "s1".into(), Some(1)),
            (3, "s1".into(), Some(2)),
            (1, "s2".into(), None),
        ]
    );
    // Refused for good: no further ListShards, even much later.
    p.put(rec("c"), 100_000).unwrap();
    p.flush();
    let next = p.poll_transmit(100_000).unwrap();
    assert!(!is_listing(&next));
}

#[test]
fn a_failing_first_map_groups_by_key_until_it_loads() {
    let mut p = producer(None);
    p.put(rec("a"), 0).unwrap();
    p.flush();
    let listing = p.poll_transmit(0).unwrap();
    p.handle_network_error(listing.id, "reset", 0);
    assert_eq!(p.stats(0).aggregation, AggregationMode::ByPartitionKey);
    let req = p.poll_transmit(0).unwrap();
    answer(&mut p, &req, 200, &acks(&["x"]));
    p.put(rec("b"), 1_000).unwrap();
    assert!(p.poll_transmit(1_000).is_none(), "the retry waits");
    let retry = p
        .poll_transmit(crate::core::engine::shard_grouping::LIST_RETRY_MS)
        .unwrap();
    assert!(is_listing(&retry));
    answer(&mut p, &retry, 200, &two_shards());
    assert_eq!(p.stats(0).aggregation, AggregationMode::ByShard);
    assert_eq!(p.stats(0).aggregation_note, None);
}

/// After a split, an aggregate packed with the old map lands on a child shard. Records all
/// inside the child are acknowledged after the check; the others are sent again.
#[test]
fn aggregates_landing_on_an_unexpected_shard_are_checked_against_the_new_map() {
    let (low, _) = keys_by_half();
    let quarter = HALF / 2;
    let (first_quarter, second_quarter): (Vec<&String>, Vec<&String>) =
        low.iter().partition(|k| rec(k).hash_key() <= quarter);
    let mut p = producer(None);
    // Aggregate A: only first-quarter keys; aggregate B (next request): mixed quarters.
    let a_keys = [first_quarter[0], first_quarter[1]].map(String::as_str);
    let req_a = start(&mut p, &a_keys, &two_shards());
    for k in [first_quarter[2], second_quarter[0]] {
        p.put(rec(k), 0).unwrap();
    }
    p.flush();
    let req_b = p.poll_transmit(0).unwrap();
    assert_eq!(entries(&req_b).len(), 1);

    // The low shard was split; both aggregates landed on the child holding their hash key.
    assert!(answer(&mut p, &req_a, 200, &acks(&["low-a"])).is_empty());
    assert!(answer(&mut p, &req_b, 200, &acks(&["low-a"])).is_empty());
    assert!(!p.is_idle(), "held for the check");
    assert_eq!(p.stats(0).in_flight_records, 4);
    let refresh = p.poll_transmit(10).unwrap();
    assert!(is_listing(&refresh));
    let split = shards(&[
        ("low-a", 0, quarter),
        ("low-b", quarter + 1, HALF),
        ("high", HALF + 1, u128::MAX),
    ]);
    let settled = answer(&mut p, &refresh, 200, &split);
    assert_eq!(
        acked(&settled),
        [(0, "low-a".into(), Some(0)), (1, "low-a".into(), Some(1))],
        "A is kept by the child's consumer"
    );
    assert_eq!(p.stats(0).aggregation, AggregationMode::ByShard);
    // B's records go again, now one aggregate per child shard.
    let again = p.poll_transmit(10).unwrap();
    let sent = entries(&again);
    assert_eq!(sent.len(), 2);
    let settled = answer(&mut p, &again, 200, &acks(&["low-a", "low-b"]));
    assert_eq!(
        acked(&settled),
        [(2, "low-a".into(), None), (3, "low-b".into(), None)]
    );
    assert!(p.is_idle());
}

/// A stream in AUTO record distribution places aggregates anywhere: the map does not
/// change, so aggregation turns itself off and the records go one per Kinesis record.
#[test]
fn auto_distribution_turns_aggregation_off() {
    let (low, high) = keys_by_half();
    let mut p = producer(None);
    let keys = [&low[0], &low[1], &high[0], &high[1]].map(String::as_str);
    let req = start(&mut p, &keys, &two_shards());
    // The low aggregate landed on the high shard.
    let settled = answer(&mut p, &req, 200, &acks(&["high", "high"]));
    assert_eq!(acked(&settled).len(), 2);
    let refresh = p.poll_transmit(10).unwrap();
    let settled = answer(&mut p, &refresh, 200, &two_shards());
    assert!(settled.is_empty());
    let stats = p.stats(0);
    assert_eq!(stats.aggregation, AggregationMode::AutoDistribution);
    assert!(stats.aggregation_note.unwrap().contains("AUTO"));
    let plain = p.poll_transmit(10).unwrap();
    let sent = entries(&plain);
    assert_eq!(sent.len(), 2);
    assert!(sent
        .iter()
        .all(|(d, _, h)| !d.starts_with(&MAGIC) && h.is_none()));
    let settled = answer(&mut p, &plain, 200, &acks(&["high", "low"]));
    assert_eq!(
        acked(&settled),
        [(0, "high".into(), None), (1, "low".into(), None)]
    );
    assert!(p.is_idle());
}

#[test]
fn held_records_are_resent_when_the_map_cannot_be_read() {
    let (low, _) = keys_by_half();
    let mut p = producer(Some("per-key"));
    let keys = [&low[0], &low[1]].map(String::as_str);
    let req = start(&mut p, &keys, &two_shards());
    answer(&mut p, &req, 200, &acks(&["elsewhere"]));
    // Held records keep their keys busy.
    p.put(rec(&low[0]), 10).unwrap();
    p.flush();
    let refresh = p.poll_transmit(10).unwrap();
    assert!(is_listing(&refresh));
    assert!(p.poll_transmit(10).is_none(), "the key is busy while held");
    p.handle_network_error(refresh.id, "slow", 10);
    let again = p.poll_transmit(10).unwrap();
    let sent = entries(&again);
    assert_eq!(sent.len(), 1);
    let settled = answer(&mut p, &again, 200, &acks(&["low"]));
    // The later record of low[0] joins the same aggregate, after the earlier one.
    assert_eq!(
        acked(&settled),
        [
            (0, "low".into(), Some(0)),
            (1, "low".into(), Some(1)),
            (2, "low".into(), Some(2))
        ],
    );
    assert!(p.is_idle());
}

#[test]
fn abandon_settles_held_records() {
    let (low, _) = keys_by_half();
    let mut p = producer(None);
    let keys = [&low[0], &low[1]].map(String::as_str);
    let req = start(&mut p, &keys, &two_shards());
    answer(&mut p, &req, 200, &acks(&["elsewhere"]));
    p.close(Some(0), 20);
    let settled = tests::settled(&mut p);
    assert_eq!(settled.len(), 2);
    assert!(settled
        .iter()
        .all(|s| matches!(&s.outcome, Outcome::Failed(f) if f.code == ErrorCode::Closed)));
    assert!(p.is_idle());
}

#[test]
fn a_fresh_map_listed_by_another_producer_is_adopted_and_a_stale_one_is_not() {
    let (low, high) = keys_by_half();
    let mut first = producer(None);
    let req = start(&mut first, &[&low[0], &high[0]], &two_shards());
    answer(&mut first, &req, 200, &acks(&["low", "high"]));
    let (map, listed_at) = first.shard_map().map(|(m, at)| (m.clone(), at)).unwrap();
    assert_eq!(
        (map.len(), listed_at),
        (2, 10),
        "listed when the ListShards answer came"
    );

    // A producer made 30 s later (a new request in a worker) packs by shard at once.
    let mut second = producer(None);
    assert!(second.adopt_shard_map(map.clone(), listed_at, 30_000));
    second.put(rec(&low[1]), 30_000).unwrap();
    second.flush();
    let put = second.poll_transmit(30_000).unwrap();
    assert!(!is_listing(&put), "no ListShards call of its own");
    assert_eq!(second.stats(30_000).aggregation, AggregationMode::ByShard);
    second.handle_answer(
        put.id,
        tests::status(200, acks(&["low"]).as_bytes()),
        30_005,
    );
    // It refreshes when the adopted map is due, as if it had listed it.
    second.put(rec(&low[2]), 70_000).unwrap();
    assert!(is_listing(&second.poll_transmit(70_010).unwrap()));

    let mut late = producer(None);
    assert!(
        !late.adopt_shard_map(map, listed_at, 70_010),
        "due for a refresh: listed again"
    );
    assert!(
        !late.adopt_shard_map(ShardMap::default(), 0, 10),
        "an empty map is no map"
    );
}

#[test]
fn a_failing_provider_is_asked_again_only_after_the_backoff_while_a_list_is_due() {
    let mut p = tests::producer(
        r#""aggregation":true,"credentials":"\u0000function","lingerMs":0,"recordTtlMs":2000"#,
    );
    p.put(rec("a"), 0).unwrap();
    // The host's loop: every ask fails at once, and the host sleeps until poll_timeout.
    let (mut now, mut asks, mut turns) = (0, 0, 0);
    while let Some(at) = p.poll_timeout().or(Some(now).filter(|_| turns == 0)) {
        now = at.max(now);
        turns += 1;
        assert!(turns < 1_000, "busy loop: {asks} asks by {now} ms");
        p.poll_transmit(now);
        for e in tests::events(&mut p) {
            match e {
                Event::CredentialsWanted => {
                    asks += 1;
                    p.credentials_failed(&Error::Credentials("pool unreachable".into()), now);
                }
                Event::Settled(s) => assert_eq!(tests::failure(&s).code, ErrorCode::Credentials),
                other => panic!("{other:?}"),
            }
        }
    }
    assert_eq!(now, 2_000, "woken until the record's time to live");
    assert!((2..30).contains(&asks), "{asks} asks");
}
