//! The packer: fills one `PutRecords` request with aggregated records, taking buffered user
//! records from the front. An aggregate only holds records that land on one shard, because the
//! KCL drops a whole aggregate when any of its records hashes outside the receiving shard:
//! grouped by the shard map when there is one, else by identical partition key (or explicit
//! hash key), which always hash alike.

use std::rc::Rc;

use crate::core::engine::queue::{Fit, KeySet, Queue, Queued};
use crate::core::engine::shard_map::ShardMap;
use crate::core::fnv::fnv1a;
use crate::core::kinesis::put_records::entry_len;
use crate::core::kpl::aggregate::Aggregate;
use crate::core::model::record::Record;

/// How records are grouped into aggregates.
#[derive(Clone, Copy, Debug)]
pub enum Grouping<'a> {
    Shards(&'a ShardMap),
    Keys,
}

/// Which aggregate a record may join: its shard's, or that of its exact key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Group<'a> {
    Shard(usize),
    HashKey(&'a str),
    PartitionKey(&'a str),
}

impl Group<'_> {
    fn hash(&self) -> u64 {
        match self {
            Group::Shard(i) => *i as u64,
            Group::HashKey(k) => fnv1a(k.as_bytes()) ^ 1,
            Group::PartitionKey(k) => fnv1a(k.as_bytes()),
        }
    }
}

impl Grouping<'_> {
    /// The record's group, and the hash key its aggregate is sent with when grouped by shard.
    fn of<'r>(&self, r: &'r Record) -> (Group<'r>, Option<u128>) {
        if let Grouping::Shards(map) = self {
            let h = r.hash_key();
            // A key in a gap between open shards (mid-reshard) is grouped by key instead.
            if let Some(i) = map.lookup(h) {
                return (Group::Shard(i), Some(h));
            }
        }
        match r.explicit_hash_key() {
            Some(k) => (Group::HashKey(k), None),
            None => (Group::PartitionKey(r.partition_key()), None),
        }
    }
}

/// An aggregate being filled, with its entry's size in the body, its size as Kinesis counts
/// it, and its group.
struct Open {
    aggregate: Aggregate<Queued>,
    entry_len: usize,
    size: usize,
    shard: Option<usize>,
}

/// The open aggregate of each group, by group hash (sorted), confirmed against the aggregate's
/// first record: no map type's code in the wasm, no allocation per record.
#[derive(Default)]
struct OpenGroups(Vec<(u64, usize)>);

impl OpenGroups {
    fn position(&self, group: &Group<'_>, open: &[Open], grouping: &Grouping<'_>) -> Option<usize> {
        let hash = group.hash();
        let first = self.0.partition_point(|&(h, _)| h < hash);
        (first..self.0.len())
            .take_while(|&i| self.0[i].0 == hash)
            .find(|&i| {
                let candidate = &open[self.0[i].1];
                match (group, candidate.shard) {
                    (Group::Shard(s), Some(c)) => *s == c,
                    (_, None) => candidate
                        .aggregate
                        .members()
                        .first()
                        .is_some_and(|m| grouping.of(&m.record).0 == *group),
                    _ => false,
                }
            })
    }

    fn get(&self, group: &Group<'_>, open: &[Open], grouping: &Grouping<'_>) -> Option<usize> {
        self.position(group, open, grouping).map(|i| self.0[i].1)
    }

    fn remove(&mut self, group: &Group<'_>, open: &[Open], grouping: &Grouping<'_>) {
        if let Some(i) = self.position(group, open, grouping) {
            self.0.remove(i);
        }
    }

    fn insert(&mut self, group: &Group<'_>, index: usize) {
        let hash = group.hash();
        let at = self.0.partition_point(|&(h, _)| h <= hash);
        self.0.insert(at, (hash, index));
    }
}

/// One Kinesis record of a packed request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// User records it carries (consecutive in [`Packed::members`]).
    pub len: usize,
    /// The shard it must land on for consumers to keep it: set for aggregates grouped by shard.
    pub shard: Option<Rc<str>>,
    /// Its size as Kinesis counts it (data plus partition key).
    pub size: usize,
}

#[derive(Debug)]
pub struct Packed {
    /// The Kinesis records to send, in body order.
    pub records: Vec<Record>,
    pub entries: Vec<Entry>,
    /// The user records, entry by entry, each entry's in subsequence order.
    pub members: Vec<Queued>,
    pub body_len: usize,
}

/// Take records from the front of `queue` into aggregates of at most `max_bytes` (as Kinesis
/// counts a record), as many as one request holds. With `busy` (per-key ordering), records whose
/// key is in flight wait, and so do later records of a key whose aggregate is already full, so
/// each key's records stay in one aggregate, in order; waiting records keep their places. With
/// `limit` (rate limiting), a record waits when its shard refuses what it adds: a new Kinesis
/// record and its bytes, or the bytes it adds to an aggregate (`limit(shard, records, bytes)`).
pub fn pack(
    queue: &mut Queue,
    fit: &Fit<'_>,
    max_bytes: usize,
    grouping: Grouping<'_>,
    busy: Option<&KeySet>,
    mut limit: Option<&mut dyn FnMut(usize, f64, usize) -> bool>,
) -> Packed {
    let mut allowed = |group: Group<'_>, records: f64, bytes: usize| match (group, limit.as_mut()) {
        (Group::Shard(i), Some(l)) => l(i, records, bytes),
        _ => true,
    };
    let mut aggregates: Vec<Open> = Vec::new();
    let (mut entries_len, mut payload) = (0, 0);
    let mut open = OpenGroups::default();
    let mut closed_keys = KeySet::default();
    let mut waiting = Vec::new();
    while let Some(q) = queue.pop_front() {
        let key = q.record.partition_key();
        if busy.is_some_and(|b| b.contains(key) || closed_keys.contains(key)) {
            waiting.push(q);
            continue;
        }
        let (group, hash_key) = grouping.of(&q.record);
        if let Some(i) = open.get(&group, &aggregates, &grouping) {
            let count = aggregates.len();
            let current = &mut aggregates[i];
            let slot = current.aggregate.slot(&q.record);
            let (size, grown) = current.aggregate.sizes_with(Some((&q.record, &slot)));
            if size <= max_bytes {
                let total = entries_len - current.entry_len + grown;
                let total_payload = payload - current.size + size;
                if !fit.fits(count, total, total_payload) {
                    waiting.push(q);
                    break;
                }
                if !allowed(group, 0.0, size - current.size) {
                    waiting.push(q);
                    continue;
                }
                current.aggregate.push_at(q, slot);
                current.entry_len = grown;
                current.size = size;
                entries_len = total;
                payload = total_payload;
                continue;
            }
            // Full: later records of this group start a new aggregate.
            open.remove(&group, &aggregates, &grouping);
            if busy.is_some() {
                for m in aggregates[i].aggregate.members() {
                    closed_keys.insert(m.record.partition_key());
                }
                if closed_keys.contains(q.record.partition_key()) {
                    waiting.push(q);
                    continue;
                }
            }
        }
        let entry = entry_len(&q.record);
        let size = q.record.size();
        if !fit.fits(aggregates.len() + 1, entries_len + entry, payload + size) {
            waiting.push(q);
            break;
        }
        if !allowed(group, 1.0, size) {
            waiting.push(q);
            continue;
        }
        let shard = match group {
            Group::Shard(i) => Some(i),
            _ => None,
        };
        open.insert(&group, aggregates.len());
        let mut aggregate = Aggregate::new(hash_key);
        aggregate.push(q);
        aggregates.push(Open {
            aggregate,
            entry_len: entry,
            size,
            shard,
        });
        entries_len += entry;
        payload += size;
    }
    queue.requeue(waiting);

    let count = aggregates.len();
    let mut packed = Packed {
        records: Vec::with_capacity(count),
        entries: Vec::with_capacity(count),
        members: Vec::new(),
        body_len: fit.framing.body_len(count, entries_len),
    };
    for Open {
        aggregate, shard, ..
    } in aggregates
    {
        let (record, members) = aggregate.finish();
        let shard = match (&grouping, shard) {
            (Grouping::Shards(map), Some(i)) if members.len() > 1 => {
                map.shard(i).map(|s| Rc::from(s.id.as_str()))
            }
            _ => None,
        };
        packed.entries.push(Entry {
            len: members.len(),
            shard,
            size: record.size(),
        });
        packed.records.push(record);
        packed.members.extend(members);
    }
    packed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::engine::queue::tests::{framing, queued};
    use crate::core::kinesis::put_records::Framing;
    use crate::core::kpl::MAGIC;
    use crate::core::model::shard::Shard;

    fn fit(framing: &Framing) -> Fit<'_> {
        Fit {
            framing,
            max_records: 500,
            max_payload: 10 << 20,
            max_body: usize::MAX,
        }
    }

    fn two_shards() -> ShardMap {
        let half = u128::MAX / 2;
        ShardMap::new(vec![
            Shard {
                id: "low".into(),
                start: 0,
                end: half,
            },
            Shard {
                id: "high".into(),
                start: half + 1,
                end: u128::MAX,
            },
        ])
    }

    fn hash(h: u128) -> String {
        h.to_string()
    }

    #[test]
    fn records_are_grouped_by_shard_at_the_range_edges() {
        let half = u128::MAX / 2;
        let framing = framing();
        let mut b = Queue::default();
        for (id, h) in [0, half, half + 1, u128::MAX, 1].into_iter().enumerate() {
            b.push(queued(id as u64, "k", Some(&hash(h)), 10));
        }
        let map = two_shards();
        let p = pack(
            &mut b,
            &fit(&framing),
            50 * 1024,
            Grouping::Shards(&map),
            None,
            None,
        );
        assert!(b.is_empty());
        let ids: Vec<u64> = p.members.iter().map(|q| q.id).collect();
        assert_eq!(
            ids,
            [0, 1, 4, 2, 3],
            "the low shard's three, then the high's two"
        );
        let shards: Vec<_> = p
            .entries
            .iter()
            .map(|e| (e.len, e.shard.as_deref()))
            .collect();
        assert_eq!(shards, [(3, Some("low")), (2, Some("high"))]);
        assert!(p
            .entries
            .iter()
            .zip(&p.records)
            .all(|(e, r)| e.size == r.size()));
        assert!(p.records.iter().all(|r| r.data().starts_with(&MAGIC)));
        // Each aggregate is sent with its first record's hash key, inside its shard.
        assert_eq!(p.records[0].explicit_hash_key(), Some("0"));
        assert_eq!(
            p.records[1].explicit_hash_key(),
            Some(hash(half + 1).as_str())
        );
        let body_len: usize = p.records.iter().map(entry_len).sum();
        assert_eq!(p.body_len, framing.body_len(2, body_len));
    }

    #[test]
    fn aggregates_never_exceed_max_bytes_by_one_byte() {
        let framing = framing();
        for max_bytes in [300, 301, 302, 1000, 4096] {
            let mut b = Queue::default();
            for id in 0..200 {
                b.push(queued(id, "dev", None, 17 + (id as usize % 13)));
            }
            let p = pack(
                &mut b,
                &fit(&framing),
                max_bytes,
                Grouping::Keys,
                None,
                None,
            );
            assert!(b.is_empty());
            assert!(p.records.len() > 1);
            for (i, r) in p.records.iter().enumerate() {
                assert!(r.size() <= max_bytes, "{} > {max_bytes}", r.size());
                // Not closed early: the next record of the group would not have fit.
                if i + 1 < p.records.len() && p.entries[i].len > 1 {
                    let start: usize = p.entries[..=i].iter().map(|e| e.len).sum();
                    let next = &p.members[start].record;
                    let mut again = Aggregate::new(None);
                    let before: usize = p.entries[..i].iter().map(|e| e.len).sum();
                    for q in &p.members[before..start] {
                        again.push(q.record.clone());
                    }
                    let slot = again.slot(next);
                    assert!(again.sizes_with(Some((next, &slot))).0 > max_bytes);
                }
            }
            assert_eq!(p.members.len(), 200);
        }
    }

    #[test]
    fn a_record_larger_than_max_bytes_travels_alone() {
        let framing = framing();
        let mut b = Queue::default();
        b.push(queued(0, "k", None, 10));
        b.push(queued(1, "k", None, 5000));
        b.push(queued(2, "k", None, 10));
        let p = pack(&mut b, &fit(&framing), 1024, Grouping::Keys, None, None);
        assert_eq!(
            p.entries.iter().map(|e| e.len).collect::<Vec<_>>(),
            [1, 1, 1]
        );
        assert_eq!(p.records[1].data().len(), 5000, "sent as itself");
    }

    #[test]
    fn a_shard_at_its_rate_keeps_its_records_waiting_in_place() {
        let framing = framing();
        let map = two_shards();
        let mut b = Queue::default();
        let keys: Vec<String> = (0..40).map(|i| format!("k{i}")).collect();
        for (id, key) in keys.iter().enumerate() {
            b.push(queued(id as u64, key, None, 100));
        }
        // Shard 0 takes one Kinesis record of at most 1,000 bytes; shard 1 anything.
        let (mut records, mut bytes) = (0.0, 0);
        let mut limit = |shard: usize, r: f64, by: usize| {
            if shard == 1 {
                return true;
            }
            let ok = records + r <= 1.0 && bytes + by <= 1_000;
            if ok {
                records += r;
                bytes += by;
            }
            ok
        };
        let p = pack(
            &mut b,
            &fit(&framing),
            50 * 1024,
            Grouping::Shards(&map),
            None,
            Some(&mut limit),
        );
        let low = |q: &Queued| map.lookup(q.record.hash_key()) == Some(0);
        assert_eq!(p.records.len(), 2, "one aggregate per shard");
        let limited = p.entries.iter().find(|e| e.shard.as_deref() == Some("low"));
        let limited = limited.expect("an aggregate for the limited shard");
        assert!(limited.len > 1 && limited.size <= 1_000, "{limited:?}");
        let waiting: Vec<Queued> = std::iter::from_fn(|| b.pop_front()).collect();
        assert!(
            !waiting.is_empty() && waiting.iter().all(low),
            "only the limited shard's records wait"
        );
        assert!(
            waiting.windows(2).all(|w| w[0].id < w[1].id),
            "in their order"
        );
        assert_eq!(p.members.len() + waiting.len(), 40);
    }

    #[test]
    fn the_request_limits_bound_the_pack() {
        let framing = framing();
        let two = Fit {
            max_records: 2,
            ..fit(&framing)
        };
        let mut b = Queue::default();
        for (id, key) in ["a", "b", "a", "c", "b"].into_iter().enumerate() {
            b.push(queued(id as u64, key, None, 10));
        }
        let p = pack(&mut b, &two, 1024, Grouping::Keys, None, None);
        assert_eq!(p.records.len(), 2);
        assert_eq!(
            p.members.iter().map(|q| q.id).collect::<Vec<_>>(),
            [0, 2, 1]
        );
        assert_eq!(b.front().map(|q| q.id), Some(3), "c waits at the front");
        assert_eq!(b.len(), 2);

        // Bytes: an aggregate stops growing when the body would pass the request limit.
        let mut b = Queue::default();
        for id in 0..100 {
            b.push(queued(id, "a", None, 100));
        }
        let small = Fit {
            max_body: 4096,
            ..fit(&framing)
        };
        let p = pack(&mut b, &small, 1024 * 1024, Grouping::Keys, None, None);
        assert!(p.body_len <= 4096);
        let exact: usize = p.records.iter().map(entry_len).sum();
        assert_eq!(p.body_len, framing.body_len(1, exact));
        assert_eq!(p.members.len() + b.len(), 100);
    }

    #[test]
    fn per_key_keeps_a_keys_records_in_one_aggregate() {
        let framing = framing();
        let mut b = Queue::default();
        for (id, key) in ["a", "b", "a", "a", "c"].into_iter().enumerate() {
            b.push(queued(id as u64, key, None, 100));
        }
        let mut busy = KeySet::default();
        busy.insert("c");
        // Room for two records of "a" per aggregate.
        let two = {
            let mut a = Aggregate::new(None);
            a.push(queued(0, "a", None, 100).record);
            let next = queued(1, "a", None, 100).record;
            let slot = a.slot(&next);
            a.sizes_with(Some((&next, &slot))).0
        };
        let p = pack(
            &mut b,
            &fit(&framing),
            two,
            Grouping::Keys,
            Some(&busy),
            None,
        );
        assert_eq!(
            p.members.iter().map(|q| q.id).collect::<Vec<_>>(),
            [0, 2, 1],
            "a's third record waits: its aggregate is full"
        );
        assert_eq!(
            std::iter::from_fn(|| b.pop_front().map(|q| q.id)).collect::<Vec<_>>(),
            [3, 4]
        );
    }
}

// proptest is a native-only dev-dependency.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod properties {
    use super::*;
    use crate::core::engine::queue::tests::framing;
    use crate::core::kpl::decode::decode;
    use crate::core::kpl::MAGIC;
    use crate::core::model::shard::Shard;
    use proptest::prelude::*;

    fn record() -> impl Strategy<Value = Record> {
        (
            0usize..3000,
            "[a-c]{1,2}|[\\PC]{1,5}",
            proptest::option::of(prop_oneof![Just(0u128), Just(u128::MAX), any::<u128>()]),
        )
            .prop_map(|(len, key, hash_key)| {
                Record::new(
                    &vec![b'z'; len],
                    &key,
                    hash_key.map(|h| h.to_string()).as_deref(),
                )
            })
    }

    proptest! {
        /// Whatever the records and limits: no aggregate over `max_bytes` unless it is a lone
        /// record, the body size exact and within the request limit, every record taken once
        /// or left in order, each aggregate inside one shard, and its bytes decodable.
        #[test]
        fn packing_respects_every_limit(
            records in proptest::collection::vec(record(), 1..120),
            max_bytes in 256usize..20_000,
            max_request in 4_096usize..200_000,
            split in any::<u128>(),
            by_shard in any::<bool>(),
        ) {
            let framing = framing();
            let fit = Fit { framing: &framing, max_records: 500, max_payload: usize::MAX, max_body: max_request };
            let mut b = Queue::default();
            for (id, record) in records.iter().enumerate() {
                let encoded_len = entry_len(record);
                prop_assume!(record.validate(1 << 20, false).is_ok() && fit.fits(1, encoded_len, record.size()));
                b.push(Queued { id: id as u64, encoded_len, record: record.clone(), accepted_at: 0, attempts: 0, last_failure: None });
            }
            let map = ShardMap::new(vec![
                Shard { id: "a".into(), start: 0, end: split },
                Shard { id: "b".into(), start: split.saturating_add(1), end: u128::MAX },
            ]);
            let grouping = if by_shard { Grouping::Shards(&map) } else { Grouping::Keys };
            let p = pack(&mut b, &fit, max_bytes, grouping, None, None);
            prop_assert!(!p.records.is_empty());
            let exact: usize = p.records.iter().map(entry_len).sum();
            prop_assert_eq!(p.body_len, framing.body_len(p.records.len(), exact));
            prop_assert!(p.body_len <= max_request);
            let mut start = 0;
            for (entry, record) in p.entries.iter().zip(&p.records) {
                let members = &p.members[start..start + entry.len];
                start += entry.len;
                prop_assert_eq!(entry.size, record.size());
                if entry.len > 1 {
                    prop_assert!(record.size() <= max_bytes);
                    prop_assert!(record.data().starts_with(&MAGIC));
                    prop_assert_eq!(decode(record.data()).map(|d| d.len()), Some(entry.len));
                    // Every member lands where the aggregate's own hash key sends it.
                    let placed = map.lookup(record.hash_key());
                    for m in members {
                        let h = m.record.hash_key();
                        if by_shard && placed.is_some() && map.lookup(h).is_some() {
                            prop_assert_eq!(map.lookup(h), placed);
                        } else {
                            prop_assert_eq!(h, members[0].record.hash_key());
                        }
                    }
                } else {
                    prop_assert_eq!(record, &members[0].record);
                }
            }
            let mut ids: Vec<u64> = p.members.iter().map(|q| q.id).collect();
            ids.extend(std::iter::from_fn(|| b.pop_front().map(|q| q.id)));
            ids.sort_unstable();
            prop_assert_eq!(ids, (0..records.len() as u64).collect::<Vec<_>>());
        }
    }
}
