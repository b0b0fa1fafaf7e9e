//! Aggregation's side of the producer: which grouping applies now, the shard map's lifecycle
//! (`ListShards`, paginated, refreshed on a schedule and after a record lands on an unexpected
//! shard), and the check of aggregates that landed on an unexpected shard.
//!
//! An aggregate that lands elsewhere than its shard (the stream was resharded, or it places
//! records itself in `AUTO` record distribution) was stored, but a KCL consumer drops it if any
//! of its records hashes outside the receiving shard. Its records are held until the new map
//! says: all inside the shard that took it, they are acknowledged; otherwise they are sent again.
//! A map that did not change while records still land elsewhere means the stream ignores hash
//! keys (`AUTO`): aggregation is then turned off for good, and said so in the stats.

use crate::core::aggregate::hash_key;
use crate::core::batcher::Queued;
use crate::core::config::ProducerConfig;
use crate::core::error::Failure;
use crate::core::packer::Grouping;
use crate::core::request::{self, BatchId, PreparedRequest};
use crate::core::response::Ack;
use crate::core::shard_map::{self, Page, Shard, ShardMap, LIST_SHARDS_TARGET};
use crate::core::Millis;

/// Two PUT payload units exactly. The KPL's default is 51,200 bytes (50 KiB), which would
/// start a third, nearly empty 25,000-byte unit were units counted in decimal kilobytes.
pub const DEFAULT_MAX_BYTES: usize = 2 * crate::core::stats::PUT_PAYLOAD_UNIT_BYTES;
pub const MIN_MAX_BYTES: usize = 256;
pub const DEFAULT_SHARD_MAP_REFRESH_MS: u64 = 60_000;
pub const MIN_SHARD_MAP_REFRESH_MS: u64 = 1_000;
/// After a failed `ListShards`, the next attempt waits this long.
pub const LIST_RETRY_MS: u64 = 5_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AggregationConfig {
    /// Largest aggregated Kinesis record, as Kinesis counts it (data plus partition key).
    pub max_bytes: usize,
    pub shard_map_refresh_ms: u64,
}

/// How records are grouped now; `stats().aggregation`.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AggregationMode {
    /// Not enabled: one user record per Kinesis record.
    #[default]
    Off,
    /// Records wait for the first `ListShards` answer.
    WaitingForShardMap,
    /// Grouped by the shard their hash key falls in.
    ByShard,
    /// No shard map (`ListShards` refused or failing): only records with the same partition
    /// key (or explicit hash key) share an aggregate.
    ByPartitionKey,
    /// The stream places records itself (`AUTO` record distribution), which breaks aggregates:
    /// one user record per Kinesis record.
    AutoDistribution,
}

/// What the next request may be built from.
#[derive(Clone, Copy, Debug)]
pub enum Plan<'a> {
    Wait,
    Plain,
    Pack(Grouping<'a>),
}

#[derive(Debug)]
struct Listing {
    batch_id: Option<BatchId>,
    shards: Vec<Shard>,
    next_token: Option<String>,
}

/// Records of an aggregate that landed on an unexpected shard, with their acknowledgements.
#[derive(Debug)]
struct Held {
    shard_id: String,
    generation: u32,
    members: Vec<(Queued, Ack)>,
}

/// What a map answer decided for the held records.
#[derive(Debug, Default)]
pub struct Verdict {
    pub acked: Vec<(Queued, Ack)>,
    pub resend: Vec<Queued>,
}

#[derive(Debug)]
pub struct Aggregation {
    pub config: AggregationConfig,
    mode: AggregationMode,
    map: Option<ShardMap>,
    /// Counts installed maps, so a misplaced aggregate is judged against the map it was packed with.
    generation: u32,
    note: Option<String>,
    listing: Option<Listing>,
    refresh_at: Millis,
    /// `ListShards` was refused: it is not asked again.
    refused: bool,
    held: Vec<Held>,
}

impl Aggregation {
    pub fn new(config: AggregationConfig) -> Self {
        Self {
            config,
            mode: AggregationMode::WaitingForShardMap,
            map: None,
            generation: 0,
            note: None,
            listing: None,
            refresh_at: 0,
            refused: false,
            held: Vec::new(),
        }
    }

    pub fn mode(&self) -> AggregationMode {
        self.mode
    }

    /// Why the grouping is not by shard, once that happened.
    pub fn note(&self) -> Option<&str> {
        self.note.as_deref()
    }

    pub fn shard_count(&self) -> usize {
        self.map.as_ref().map_or(0, ShardMap::len)
    }

    pub fn generation(&self) -> u32 {
        self.generation
    }

    pub fn plan(&self) -> Plan<'_> {
        match (self.mode, &self.map) {
            (AggregationMode::WaitingForShardMap, _) => Plan::Wait,
            (AggregationMode::AutoDistribution | AggregationMode::Off, _) => Plan::Plain,
            (AggregationMode::ByShard, Some(map)) => Plan::Pack(Grouping::Shards(map)),
            _ => Plan::Pack(Grouping::Keys),
        }
    }

    /// Records held for the shard check.
    pub fn held_records(&self) -> usize {
        self.held.iter().map(|h| h.members.len()).sum()
    }

    /// The held records, given up on (the producer is abandoned).
    pub fn take_held(&mut self) -> Vec<Queued> {
        self.listing = None;
        self.held
            .drain(..)
            .flat_map(|h| h.members.into_iter().map(|(q, _)| q))
            .collect()
    }

    pub fn is_listing(&self, batch_id: BatchId) -> bool {
        self.listing
            .as_ref()
            .is_some_and(|l| l.batch_id == Some(batch_id))
    }

    /// A `ListShards` request, when one is due: the first map as soon as records arrive, a
    /// refresh on schedule while records flow, the next page of a listing, or a check of held
    /// records.
    pub fn list_request(
        &mut self,
        config: &ProducerConfig,
        batch_id: BatchId,
        records_waiting: bool,
        now: Millis,
    ) -> Option<PreparedRequest> {
        let token = match &self.listing {
            Some(Listing {
                batch_id: Some(_), ..
            }) => return None,
            Some(l) => l.next_token.clone(),
            None => {
                let wanted = records_waiting || !self.held.is_empty();
                let stopped = self.refused || self.mode == AggregationMode::AutoDistribution;
                if stopped || !wanted || now < self.refresh_at {
                    return None;
                }
                None
            }
        };
        let listing = self.listing.get_or_insert_with(|| Listing {
            batch_id: None,
            shards: Vec::new(),
            next_token: None,
        });
        listing.batch_id = Some(batch_id);
        Some(request::prepared(
            batch_id,
            config,
            LIST_SHARDS_TARGET,
            shard_map::list_shards_body(&config.target, token.as_deref()),
        ))
    }

    /// An aggregate packed with map `generation` landed on `shard_id` instead of its shard:
    /// hold its records and refresh the map now.
    pub fn misplaced(&mut self, shard_id: String, generation: u32, members: Vec<(Queued, Ack)>) {
        self.held.push(Held {
            shard_id,
            generation,
            members,
        });
        self.refresh_at = 0;
    }

    /// The answer to the listing's request: a page, or why there is none.
    pub fn on_list_answer(&mut self, page: Result<Page, Failure>, now: Millis) -> Verdict {
        let Some(mut listing) = self.listing.take() else {
            return Verdict::default();
        };
        let page = page.and_then(|p| {
            if p.shards.is_empty() && p.next_token.is_none() && listing.shards.is_empty() {
                Err(crate::core::classify::transport_failure(
                    crate::core::error::ErrorCode::InvalidResponse,
                    "ListShards lists no open shard",
                ))
            } else {
                Ok(p)
            }
        });
        match page {
            Err(failure) => self.list_failed(&failure, now),
            Ok(Page {
                shards,
                next_token: Some(token),
            }) => {
                listing.shards.extend(shards);
                listing.batch_id = None;
                listing.next_token = Some(token);
                self.listing = Some(listing);
                Verdict::default()
            }
            Ok(Page { shards, .. }) => {
                listing.shards.extend(shards);
                self.install(ShardMap::new(listing.shards), now)
            }
        }
    }

    fn list_failed(&mut self, failure: &Failure, now: Millis) -> Verdict {
        self.refresh_at = now.saturating_add(LIST_RETRY_MS);
        if !failure.retry.is_retryable() {
            self.refused = true;
        }
        if self.mode == AggregationMode::WaitingForShardMap || self.refused {
            self.mode = AggregationMode::ByPartitionKey;
            let then = if self.refused {
                "for the producer's lifetime"
            } else {
                "until it loads"
            };
            self.note = Some(format!(
                "no shard map (ListShards failed: {failure}); aggregates hold only records with the same partition key {then}"
            ));
        }
        // Held records cannot be checked without a map: send them again.
        Verdict {
            acked: Vec::new(),
            resend: self.take_held(),
        }
    }

    fn install(&mut self, map: ShardMap, now: Millis) -> Verdict {
        self.refresh_at = now.saturating_add(self.config.shard_map_refresh_ms);
        let unchanged = self.map.as_ref() == Some(&map);
        let generation = self.generation;
        if unchanged
            && self.held.iter().any(|h| h.generation == generation)
            && self.mode == AggregationMode::ByShard
        {
            self.mode = AggregationMode::AutoDistribution;
            self.note = Some(
                "records land on shards their hash keys do not map to while the shard map is unchanged: \
                 the stream distributes records itself (AUTO record distribution), so aggregation is off"
                    .into(),
            );
        } else if self.mode != AggregationMode::AutoDistribution {
            self.mode = AggregationMode::ByShard;
            self.note = None;
        }
        if !unchanged {
            self.generation += 1;
        }
        let mut verdict = Verdict::default();
        for held in std::mem::take(&mut self.held) {
            let landed = map.by_id(&held.shard_id);
            let kept = landed.is_some_and(|s| {
                held.members
                    .iter()
                    .all(|(q, _)| s.contains(hash_key(&q.record)))
            });
            if kept {
                verdict.acked.extend(held.members);
            } else {
                verdict
                    .resend
                    .extend(held.members.into_iter().map(|(q, _)| q));
            }
        }
        self.map = Some(map);
        verdict
    }
}

#[cfg(test)]
mod tests {
    use crate::core::aggregate::{hash_key, MAGIC};
    use crate::core::config::{ProducerConfig, ProducerOptions};
    use crate::core::error::ErrorCode;
    use crate::core::producer::{Answer, Outcome, Producer, Settlement};
    use crate::core::record::Record;
    use crate::core::request::PreparedRequest;
    use crate::core::shard_map::LIST_SHARDS_TARGET;

    use super::AggregationMode;

    const HALF: u128 = u128::MAX / 2;

    fn producer(ordering: Option<&str>) -> Producer {
        Producer::new(
            ProducerConfig::from_options(ProducerOptions {
                region: Some("us-east-1".into()),
                stream_name: Some("readings".into()),
                aggregation: Some(true),
                ordering: ordering.map(Into::into),
                ..Default::default()
            })
            .unwrap(),
            3,
        )
    }

    fn rec(key: &str) -> Record {
        Record {
            data: format!("{{\"device\":\"{key}\"}}").into_bytes(),
            partition_key: key.into(),
            explicit_hash_key: None,
        }
    }

    fn target(req: &PreparedRequest) -> &str {
        req.headers
            .iter()
            .find(|(k, _)| *k == "x-amz-target")
            .map_or("", |(_, v)| v)
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

    fn answer(p: &mut Producer, req: &PreparedRequest, status: u16, body: &str) -> Vec<Settlement> {
        p.on_response(
            req.batch_id,
            Answer {
                status,
                error_type: None,
                date_ms: None,
                body: body.as_bytes(),
            },
            10,
        )
    }

    /// The Kinesis records of a `PutRecords` body: (data, partition key, explicit hash key).
    fn entries(req: &PreparedRequest) -> Vec<(Vec<u8>, String, Option<String>)> {
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
            .partition(|k| hash_key(&rec(k)) <= HALF)
    }

    fn acked(settled: &[Settlement]) -> Vec<(u64, String, Option<u32>)> {
        settled
            .iter()
            .map(|s| match &s.outcome {
                Outcome::Acked(a) => (s.id, a.shard_id.clone(), a.sub_sequence_number),
                Outcome::Failed(f) => panic!("record {} failed: {f}", s.id),
            })
            .collect()
    }

    /// Put records, load the map from `list` and return the first PutRecords request.
    fn start(p: &mut Producer, keys: &[&str], list: &str) -> PreparedRequest {
        for k in keys {
            p.put(rec(k), 0).unwrap();
        }
        p.flush();
        let listing = p.next_request(0).unwrap();
        assert_eq!(target(&listing), LIST_SHARDS_TARGET);
        assert_eq!(listing.body, br#"{"StreamName":"readings"}"#);
        assert!(
            p.next_request(0).is_none(),
            "records wait for the first map"
        );
        assert_eq!(p.stats(0).aggregation, AggregationMode::WaitingForShardMap);
        assert!(answer(p, &listing, 200, list).is_empty());
        p.next_request(0).unwrap()
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
        assert_eq!((stats.records_sent, stats.kinesis_records_sent), (5, 2));
        assert_eq!(
            (stats.kinesis_records_acknowledged, stats.put_payload_units),
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
        let again = p.next_request(2_000).unwrap();
        let sent = entries(&again);
        assert_eq!(sent.len(), 1, "the two high records, aggregated again");
        let settled = answer(&mut p, &again, 200, &acks(&["high"]));
        assert_eq!(
            acked(&settled),
            [(1, "high".into(), Some(0)), (3, "high".into(), Some(1))]
        );
        assert_eq!(p.stats(0).records_sent, 6);
    }

    #[test]
    fn pages_are_followed_with_the_token_alone() {
        let (low, high) = keys_by_half();
        let mut p = producer(None);
        p.put(rec(&low[0]), 0).unwrap();
        p.put(rec(&high[0]), 0).unwrap();
        p.put(rec(&high[1]), 0).unwrap();
        p.flush();
        let first = p.next_request(0).unwrap();
        let page = r#"{"Shards":[{"ShardId":"low","HashKeyRange":{"StartingHashKey":"0","EndingHashKey":"170141183460469231731687303715884105727"}}],"NextToken":"page-2"}"#;
        answer(&mut p, &first, 200, page);
        let second = p.next_request(0).unwrap();
        assert_eq!(second.body, br#"{"NextToken":"page-2"}"#);
        assert!(p.next_request(0).is_none(), "still waiting for the map");
        answer(
            &mut p,
            &second,
            200,
            &shards(&[("high", HALF + 1, u128::MAX)]),
        );
        let req = p.next_request(0).unwrap();
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
        let listing = p.next_request(0).unwrap();
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
        let req = p.next_request(0).unwrap();
        let sent = entries(&req);
        assert_eq!(
            sent.iter()
                .map(|(_, k, h)| (k.as_str(), h.is_some()))
                .collect::<Vec<_>>(),
            [("a", false), ("b", false)]
        );
        assert!(sent[0].0.starts_with(&MAGIC));
        assert_eq!(sent[1].0, rec("b").data, "a lone record travels as itself");
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
        let next = p.next_request(100_000).unwrap();
        assert_ne!(target(&next), LIST_SHARDS_TARGET);
    }

    #[test]
    fn a_failing_first_map_groups_by_key_until_it_loads() {
        let mut p = producer(None);
        p.put(rec("a"), 0).unwrap();
        p.flush();
        let listing = p.next_request(0).unwrap();
        p.on_failure(
            listing.batch_id,
            crate::core::classify::transport_failure(ErrorCode::Network, "reset"),
            0,
        );
        assert_eq!(p.stats(0).aggregation, AggregationMode::ByPartitionKey);
        let req = p.next_request(0).unwrap();
        answer(&mut p, &req, 200, &acks(&["x"]));
        p.put(rec("b"), 1_000).unwrap();
        assert!(p.next_request(1_000).is_none(), "the retry waits");
        let retry = p.next_request(super::LIST_RETRY_MS).unwrap();
        assert_eq!(target(&retry), LIST_SHARDS_TARGET);
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
            low.iter().partition(|k| hash_key(&rec(k)) <= quarter);
        let mut p = producer(None);
        // Aggregate A: only first-quarter keys; aggregate B (next request): mixed quarters.
        let a_keys = [first_quarter[0], first_quarter[1]].map(String::as_str);
        let req_a = start(&mut p, &a_keys, &two_shards());
        for k in [first_quarter[2], second_quarter[0]] {
            p.put(rec(k), 0).unwrap();
        }
        p.flush();
        let req_b = p.next_request(0).unwrap();
        assert_eq!(entries(&req_b).len(), 1);

        // The low shard was split; both aggregates landed on the child holding their hash key.
        assert!(answer(&mut p, &req_a, 200, &acks(&["low-a"])).is_empty());
        assert!(answer(&mut p, &req_b, 200, &acks(&["low-a"])).is_empty());
        assert!(!p.is_idle(), "held for the check");
        assert_eq!(p.stats(0).in_flight_records, 4);
        let refresh = p.next_request(10).unwrap();
        assert_eq!(target(&refresh), LIST_SHARDS_TARGET);
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
        let again = p.next_request(10).unwrap();
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
        let refresh = p.next_request(10).unwrap();
        let settled = answer(&mut p, &refresh, 200, &two_shards());
        assert!(settled.is_empty());
        let stats = p.stats(0);
        assert_eq!(stats.aggregation, AggregationMode::AutoDistribution);
        assert!(stats.aggregation_note.unwrap().contains("AUTO"));
        let plain = p.next_request(10).unwrap();
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
        let refresh = p.next_request(10).unwrap();
        assert_eq!(target(&refresh), LIST_SHARDS_TARGET);
        assert!(p.next_request(10).is_none(), "the key is busy while held");
        p.on_failure(
            refresh.batch_id,
            crate::core::classify::transport_failure(ErrorCode::Timeout, "slow"),
            10,
        );
        let again = p.next_request(10).unwrap();
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
        let settled = p.abandon();
        assert_eq!(settled.len(), 2);
        assert!(settled
            .iter()
            .all(|s| matches!(&s.outcome, Outcome::Failed(f) if f.code == ErrorCode::Closed)));
        assert!(p.is_idle());
    }
}
