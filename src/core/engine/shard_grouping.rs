//! How records are grouped for aggregation: which grouping applies now, the shard map's
//! lifecycle (`ListShards`, paginated, refreshed on a schedule and after a record lands on an
//! unexpected shard), and the check of aggregates that landed on an unexpected shard.
//!
//! An aggregate that lands elsewhere than its shard (the stream was resharded, or it places
//! records itself in `AUTO` record distribution) was stored, but a KCL consumer drops it if any
//! of its records hashes outside the receiving shard. Its records are held until the new map
//! says: all inside the shard that took it, they are acknowledged; otherwise they are sent again.
//! A map that did not change while records still land elsewhere means the stream ignores hash
//! keys (`AUTO`): aggregation is then turned off for good, and said so in the stats.

use crate::core::engine::events::{Ack, RequestId};
use crate::core::engine::packer::Grouping;
use crate::core::engine::queue::Queued;
use crate::core::engine::shard_map::ShardMap;
use crate::core::kinesis::list_shards::{self, Page};
use crate::core::model::config::AggregationConfig;
use crate::core::model::error::{ErrorCode, Failure};
use crate::core::model::shard::Shard;
use crate::core::model::target::StreamTarget;
use crate::core::Millis;

/// After a failed `ListShards`, the next attempt waits this long.
pub const LIST_RETRY_MS: u64 = 5_000;

/// How records are grouped now; `stats().aggregation`.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
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
    /// The `ListShards` call in flight, if one is.
    request: Option<RequestId>,
    shards: Vec<Shard>,
    next_token: Option<String>,
}

/// Records of an aggregate that landed on an unexpected shard, with their acknowledgements.
#[derive(Debug)]
struct Held {
    shard_id: std::rc::Rc<str>,
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
pub struct ShardGrouping {
    pub config: AggregationConfig,
    /// `false`: only the map is kept (for the rate limiter); records are never packed.
    aggregating: bool,
    mode: AggregationMode,
    map: Option<ShardMap>,
    /// Counts installed maps, so a misplaced aggregate is judged against the map it was packed with.
    generation: u32,
    note: Option<String>,
    listing: Option<Listing>,
    /// When the map was listed (or the map adopted was).
    listed_at: Millis,
    refresh_at: Millis,
    /// `ListShards` was refused: it is not asked again.
    refused: bool,
    held: Vec<Held>,
}

impl AggregationMode {
    /// As `stats().aggregation` shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::WaitingForShardMap => "waiting-for-shard-map",
            Self::ByShard => "by-shard",
            Self::ByPartitionKey => "by-partition-key",
            Self::AutoDistribution => "auto-distribution",
        }
    }
}

impl ShardGrouping {
    pub fn new(config: AggregationConfig) -> Self {
        Self {
            config,
            aggregating: true,
            mode: AggregationMode::WaitingForShardMap,
            map: None,
            generation: 0,
            note: None,
            listing: None,
            listed_at: 0,
            refresh_at: 0,
            refused: false,
            held: Vec::new(),
        }
    }

    /// A grouping that keeps the shard map only, listed every `refresh_ms` while records flow.
    pub fn map_only(refresh_ms: u64) -> Self {
        Self {
            aggregating: false,
            ..Self::new(AggregationConfig {
                max_bytes: 0,
                shard_map_refresh_ms: refresh_ms,
            })
        }
    }

    pub fn mode(&self) -> AggregationMode {
        if self.aggregating {
            self.mode
        } else {
            AggregationMode::Off
        }
    }

    /// Why the grouping is not by shard, once that happened.
    pub fn note(&self) -> Option<&str> {
        self.note.as_deref().filter(|_| self.aggregating)
    }

    pub fn shard_count(&self) -> usize {
        self.map.as_ref().map_or(0, ShardMap::len)
    }

    /// The map and when it was listed, for other producers of the stream to adopt.
    pub fn map(&self) -> Option<(&ShardMap, Millis)> {
        self.map.as_ref().map(|m| (m, self.listed_at))
    }

    /// Take a map another producer of the stream listed at `listed_at`, if this one has none yet
    /// and that one is not due for a refresh: a short-lived producer (one per request in a
    /// worker) then need not list the shards again. Misplaced aggregates still refresh it.
    pub fn adopt(&mut self, map: ShardMap, listed_at: Millis, now: Millis) -> bool {
        let refresh_at = listed_at.saturating_add(self.config.shard_map_refresh_ms);
        if self.map.is_some() || self.listing.is_some() || now >= refresh_at || map.is_empty() {
            return false;
        }
        self.listed_at = listed_at;
        self.refresh_at = refresh_at;
        self.mode = AggregationMode::ByShard;
        self.generation += 1;
        self.map = Some(map);
        true
    }

    pub fn generation(&self) -> u32 {
        self.generation
    }

    pub fn plan(&self) -> Plan<'_> {
        if !self.aggregating {
            return Plan::Plain;
        }
        match (self.mode, &self.map) {
            (AggregationMode::WaitingForShardMap, _) => Plan::Wait,
            (AggregationMode::AutoDistribution | AggregationMode::Off, _) => Plan::Plain,
            (AggregationMode::ByShard, Some(map)) => Plan::Pack(Grouping::Shards(map)),
            _ => Plan::Pack(Grouping::Keys),
        }
    }

    /// The stream's settings tell whether it places records itself (`AUTO`): aggregation is
    /// off before any aggregate is misplaced, and on again when the stream goes back to keys.
    pub fn set_auto_distribution(&mut self, auto: bool) {
        if auto {
            self.mode = AggregationMode::AutoDistribution;
            self.note = Some(
                "the stream uses AUTO record distribution (DescribeStreamSummary), which places aggregates on any shard: aggregation is off"
                    .into(),
            );
        } else if self.mode == AggregationMode::AutoDistribution {
            self.mode = if self.map.is_some() {
                AggregationMode::ByShard
            } else if self.refused {
                AggregationMode::ByPartitionKey
            } else {
                AggregationMode::WaitingForShardMap
            };
            self.note = None;
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

    /// When the next `ListShards` call is due (`None`: not wanted, or one is in flight): the
    /// first map as soon as records arrive, a refresh on schedule while records flow, the next
    /// page of a listing, or a check of held records.
    pub fn list_due_at(&self, records_waiting: bool) -> Option<Millis> {
        match &self.listing {
            Some(Listing {
                request: Some(_), ..
            }) => None,
            Some(_) => Some(0),
            None => {
                let wanted = records_waiting || !self.held.is_empty();
                let stopped = self.refused || self.mode == AggregationMode::AutoDistribution;
                (wanted && !stopped).then_some(self.refresh_at)
            }
        }
    }

    /// The body of the `ListShards` call due now, marked in flight as `request`.
    pub fn list_body(
        &mut self,
        target: &StreamTarget,
        request: RequestId,
        records_waiting: bool,
        now: Millis,
    ) -> Option<Vec<u8>> {
        if self.list_due_at(records_waiting)? > now {
            return None;
        }
        let listing = self.listing.get_or_insert_with(|| Listing {
            request: None,
            shards: Vec::new(),
            next_token: None,
        });
        listing.request = Some(request);
        Some(list_shards::body(target, listing.next_token.as_deref()))
    }

    /// An aggregate packed with map `generation` landed on `shard_id` instead of its shard:
    /// hold its records and refresh the map now.
    pub fn misplaced(
        &mut self,
        shard_id: std::rc::Rc<str>,
        generation: u32,
        members: Vec<(Queued, Ack)>,
    ) {
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
                Err(Failure::transport(
                    ErrorCode::InvalidResponse,
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
                listing.request = None;
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
        self.listed_at = now;
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
                    .all(|(q, _)| s.contains(q.record.hash_key()))
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
