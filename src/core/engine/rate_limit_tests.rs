//! The producer with `rateLimit` against a simulated stream that enforces the shard write
//! limits (each shard a bucket of one second's worth, 1,000 records and 1 MiB, refilled
//! continuously) on a simulated clock: a hot key at 150 % of its shard's record limit beside
//! background keys on the other shards, with and without the limiter.

use super::stream_settings_tests::ONE_SHARD;
use super::tests::{producer, status};
use super::*;

const SHARDS: u128 = 4;
const HOT_PER_S: u64 = 1_500;
const BACKGROUND_PER_S: u64 = 300;
const SECONDS: u64 = 10;
const LATENCY_MS: Millis = 20;

struct Outcome {
    entries: u64,
    throttled: u64,
    delivered: u64,
    /// When the last record was acknowledged.
    done_at: Millis,
    /// The longest a background key's record waited from `put` to its acknowledgement.
    background_wait: Millis,
    requests: u64,
}

fn shard_of(key: &str) -> usize {
    (Record::new(b"", key, None).hash_key() / (u128::MAX / SHARDS + 1)) as usize
}

/// A key on each shard: the hot one on shard 0, background keys on the others.
fn keys() -> Vec<String> {
    let mut found = vec![None; SHARDS as usize];
    for i in 0.. {
        let key = format!("device-{i}");
        let s = shard_of(&key);
        if found[s].is_none() {
            found[s] = Some(key);
        }
        if found.iter().all(Option::is_some) {
            break;
        }
    }
    found.into_iter().flatten().collect()
}

/// `foreign_per_s`: another writer's records per second on the hot shard, unseen by the producer.
fn run(limited: bool, foreign_per_s: u64) -> Outcome {
    let limit = if limited { r#","rateLimit":true"# } else { "" };
    let mut p = producer(&format!(
        r#""recordTtlMs":"\u0000Infinity","lingerMs":50,"maxInFlightRequests":8{limit}"#
    ));
    let keys = keys();
    let listing = (0..SHARDS)
        .map(|i| {
            let step = u128::MAX / SHARDS + 1;
            let (start, end) = (i * step, i * step + (step - 1));
            format!(r#"{{"ShardId":"s{i}","HashKeyRange":{{"StartingHashKey":"{start}","EndingHashKey":"{end}"}},"SequenceNumberRange":{{"StartingSequenceNumber":"1"}}}}"#)
        })
        .collect::<Vec<_>>()
        .join(",");
    let listing = format!(r#"{{"Shards":[{listing}]}}"#);
    let mut tokens = [1_000.0f64; SHARDS as usize];
    let mut last_refill = 0;
    let mut pending: Vec<(Millis, RequestId, Vec<u8>)> = Vec::new();
    let mut out = Outcome {
        entries: 0,
        throttled: 0,
        delivered: 0,
        done_at: 0,
        background_wait: 0,
        requests: 0,
    };
    // When each background record was put, by record id.
    let mut background_put = std::collections::HashMap::new();
    let total = SECONDS * (HOT_PER_S + 3 * BACKGROUND_PER_S);
    let data = [b'x'; 200];
    for now in 0..120_000u64 {
        if now < SECONDS * 1_000 {
            // Readings spread evenly over each second.
            for _ in 0..(HOT_PER_S * (now + 1) / 1_000 - HOT_PER_S * now / 1_000) {
                p.put(Record::new(&data, &keys[0], None), now).unwrap();
            }
            for key in &keys[1..] {
                for _ in 0..(BACKGROUND_PER_S * (now + 1) / 1_000 - BACKGROUND_PER_S * now / 1_000)
                {
                    let id = p.put(Record::new(&data, key, None), now).unwrap();
                    background_put.insert(id, now);
                }
            }
        }
        for t in &mut tokens {
            *t = (*t + (now - last_refill) as f64).min(1_000.0);
        }
        tokens[0] -= (foreign_per_s * (now + 1) / 1_000 - foreign_per_s * now / 1_000) as f64;
        last_refill = now;
        while let Some(t) = p.poll_transmit(now) {
            let body = if t.operation == Operation::ListShards {
                listing.clone().into_bytes()
            } else {
                out.requests += 1;
                let request: serde_json::Value = serde_json::from_slice(&t.body).unwrap();
                let results: Vec<String> = request["Records"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| {
                        out.entries += 1;
                        let shard = shard_of(e["PartitionKey"].as_str().unwrap());
                        if tokens[shard] >= 1.0 {
                            tokens[shard] -= 1.0;
                            format!(r#"{{"SequenceNumber":"1","ShardId":"s{shard}"}}"#)
                        } else {
                            out.throttled += 1;
                            r#"{"ErrorCode":"ProvisionedThroughputExceededException","ErrorMessage":"Rate exceeded"}"#.into()
                        }
                    })
                    .collect();
                format!(
                    r#"{{"FailedRecordCount":0,"Records":[{}]}}"#,
                    results.join(",")
                )
                .into_bytes()
            };
            pending.push((now + LATENCY_MS, t.id, body));
        }
        let (due, later): (Vec<_>, Vec<_>) = pending.into_iter().partition(|(at, ..)| *at <= now);
        pending = later;
        for (_, id, body) in due {
            p.handle_answer(id, status(200, &body), now);
        }
        while let Some(e) = p.poll_event() {
            if let Event::Settled(Settlement {
                id,
                outcome: crate::core::Outcome::Acked(_),
            }) = e
            {
                out.delivered += 1;
                out.done_at = now;
                if let Some(put) = background_put.get(&id) {
                    out.background_wait = out.background_wait.max(now - put);
                }
            }
        }
        if out.delivered == total {
            break;
        }
    }
    assert_eq!(out.delivered, total, "everything delivered");
    out
}

#[test]
fn a_hot_shard_is_fed_at_its_rate_instead_of_being_throttled() {
    let ideal = SECONDS * HOT_PER_S; // the hot shard's records at 1,000 per second, in ms
    let with = run(true, 0);
    let without = run(false, 0);
    let share = |o: &Outcome| o.throttled as f64 / o.entries as f64;
    assert!(
        share(&with) <= 0.01,
        "limited: {} of {} entries throttled",
        with.throttled,
        with.entries
    );
    assert!(
        with.done_at as f64 <= ideal as f64 * 1.05,
        "limited: done at {} ms, ideal {ideal}",
        with.done_at
    );
    assert!(
        share(&without) > 0.05,
        "without: {} of {}",
        without.throttled,
        without.entries
    );
    // The other shards' records do not wait for the hot one: linger (50 ms), a round trip
    // (20 ms) and at most one wait for the hot shard's next token (100 ms).
    assert!(
        with.background_wait <= 200,
        "a background record waited {} ms",
        with.background_wait
    );
    // Records held back do not turn into a request per arriving record: about one request per
    // linger (50 ms) and per hot-shard wait (100 ms) over the 14 s.
    assert!(with.requests <= 400, "{} requests", with.requests);
}

#[test]
fn another_writer_on_the_hot_shard_is_adapted_to() {
    let with = run(true, 300);
    let without = run(false, 300);
    let share = |o: &Outcome| o.throttled as f64 / o.entries as f64;
    assert!(
        share(&with) < 0.05,
        "limited: {} of {} entries throttled",
        with.throttled,
        with.entries
    );
    assert!(share(&with) * 10.0 < share(&without));
}

/// A shard saturated by bytes: a record it refuses is not overtaken by smaller ones behind it,
/// and waits only until the shard's bucket has room for it.
#[test]
fn a_shards_records_keep_their_order_through_its_limit() {
    let mut p =
        producer(r#""rateLimit":true,"lingerMs":0,"streamSettings":{"maxRecordSizeInKiB":10240}"#);
    let first = p
        .put(Record::new(&vec![b'x'; 600_000], "k", None), 0)
        .unwrap();
    let list = p.poll_transmit(0).unwrap();
    assert_eq!(list.operation, Operation::ListShards);
    p.handle_answer(list.id, status(200, ONE_SHARD.as_bytes()), 0);
    let second = p
        .put(Record::new(&vec![b'x'; 600_000], "k", None), 0)
        .unwrap();
    let third = p.put(Record::new(b"small", "k", None), 0).unwrap();
    let mut order = Vec::new();
    let mut sent_at = Vec::new();
    for now in 0..3_000 {
        while let Some(t) = p.poll_transmit(now) {
            sent_at.push(now);
            let n = serde_json::from_slice::<serde_json::Value>(&t.body).unwrap()["Records"]
                .as_array()
                .unwrap()
                .len();
            let ok = vec![r#"{"SequenceNumber":"1","ShardId":"s0"}"#; n];
            p.handle_answer(t.id, status(200, &super::tests::answer(&ok)), now);
        }
        order.extend(
            std::iter::from_fn(|| p.poll_event()).filter_map(|e| match e {
                Event::Settled(s) => Some(s.id),
                _ => None,
            }),
        );
    }
    assert_eq!(order, [first, second, third], "in put order");
    // 1 MiB per second: the second 600 KB waits until about 150 KB more have come.
    assert!(
        sent_at[1] >= 100 && sent_at[1] <= 200,
        "sent at {sent_at:?}"
    );
}
