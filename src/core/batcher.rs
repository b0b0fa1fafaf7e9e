//! The batcher: accepted records wait here in arrival order until a `PutRecords` call is due,
//! because it is full (500 records or the byte limit) or because `lingerMs` has passed since
//! its first record, or because the caller asked for a flush.

use std::collections::VecDeque;

use crate::core::body;
use crate::core::config::Limits;
use crate::core::error::Failure;
use crate::core::producer::RecordId;
use crate::core::record::{key_hash, Record};
use crate::core::Millis;

/// Partition keys, held as 64-bit FNV-1a hashes in a sorted multiset: a small set with no
/// hasher's code in the wasm. A collision can only make a key look busy, which delays a record
/// and never lets one overtake another.
#[derive(Clone, Debug, Default)]
pub struct KeySet(Vec<u64>);

impl KeySet {
    fn hash(key: &str) -> u64 {
        key_hash(key)
    }

    pub fn contains(&self, key: &str) -> bool {
        self.0.binary_search(&Self::hash(key)).is_ok()
    }

    pub fn insert(&mut self, key: &str) {
        let h = Self::hash(key);
        let at = self.0.partition_point(|&x| x < h);
        self.0.insert(at, h);
    }

    /// Remove one occurrence of `key`.
    pub fn remove(&mut self, key: &str) {
        if let Ok(at) = self.0.binary_search(&Self::hash(key)) {
            self.0.remove(at);
        }
    }

    pub fn clear(&mut self) {
        self.0.clear();
    }
}

/// A record accepted into the producer, with what the batcher needs to place it.
#[derive(Debug)]
pub struct Queued {
    pub id: RecordId,
    pub record: Record,
    /// Bytes of its entry in the request body.
    pub encoded_len: usize,
    pub accepted_at: Millis,
    /// Times it was sent and failed with a retryable error.
    pub attempts: u32,
    /// Why its last attempt failed.
    pub last_failure: Option<Failure>,
}

impl AsRef<Record> for Queued {
    fn as_ref(&self) -> &Record {
        &self.record
    }
}

#[derive(Debug, Default)]
pub struct Batcher {
    queue: VecDeque<Queued>,
    /// Sum of `encoded_len` over the queue.
    entry_bytes: usize,
    /// Sum of record sizes (data plus key) over the queue.
    record_bytes: usize,
}

impl Batcher {
    pub fn push(&mut self, q: Queued) {
        self.entry_bytes += q.encoded_len;
        self.record_bytes += q.record.size();
        self.queue.push_back(q);
    }

    /// Put records that failed back at the front, in their order, ahead of newer ones.
    pub fn requeue(&mut self, records: Vec<Queued>) {
        for q in records.into_iter().rev() {
            self.entry_bytes += q.encoded_len;
            self.record_bytes += q.record.size();
            self.queue.push_front(q);
        }
    }

    /// The oldest waiting record.
    pub fn front(&self) -> Option<&Queued> {
        self.queue.front()
    }

    /// Remove the front record (for expiry).
    pub fn pop_front(&mut self) -> Option<Queued> {
        let q = self.queue.pop_front()?;
        self.entry_bytes -= q.encoded_len;
        self.record_bytes -= q.record.size();
        Some(q)
    }

    pub fn len(&self) -> usize {
        self.queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Bytes (data plus keys) waiting.
    pub fn record_bytes(&self) -> usize {
        self.record_bytes
    }

    /// When the oldest waiting record's linger runs out.
    pub fn deadline(&self, linger_ms: u64) -> Option<Millis> {
        self.queue
            .front()
            .map(|q| q.accepted_at.saturating_add(linger_ms))
    }

    /// No more records would fit in the next request.
    pub fn is_full(&self, limits: &Limits) -> bool {
        self.queue.len() >= limits.max_records_per_request
            || body::body_len(limits.request_overhead, self.queue.len(), self.entry_bytes)
                >= limits.max_request_bytes
    }

    /// Whether a request should be made now. Records with ids below `flush_below` were
    /// accepted before a flush was asked for and wait no longer.
    pub fn is_due(
        &self,
        now: Millis,
        linger_ms: u64,
        limits: &Limits,
        flush_below: RecordId,
    ) -> bool {
        match self.queue.front() {
            None => false,
            Some(front) => {
                front.id < flush_below
                    || self.is_full(limits)
                    || now >= front.accepted_at.saturating_add(linger_ms)
            }
        }
    }

    /// Whether one more entry of `next_len` bytes fits a batch of `count` entries (`entries` bytes).
    fn fits(limits: &Limits, count: usize, entries: usize, next_len: usize) -> bool {
        count < limits.max_records_per_request
            && body::body_len(limits.request_overhead, count + 1, entries + next_len)
                <= limits.max_request_bytes
    }

    /// Take the next batch: as many records from the front as fit, at least one.
    /// Returns the records and the exact size of their request body.
    pub fn take(&mut self, limits: &Limits) -> (Vec<Queued>, usize) {
        let mut batch = Vec::new();
        let mut entries = 0;
        while let Some(next) = self.queue.front() {
            let fits = Self::fits(limits, batch.len(), entries, next.encoded_len);
            // Every accepted record fits a request on its own, so a batch is never empty.
            if !fits && !batch.is_empty() {
                break;
            }
            let Some(q) = self.pop_front() else {
                break;
            };
            entries += q.encoded_len;
            batch.push(q);
        }
        let size = body::body_len(limits.request_overhead, batch.len(), entries);
        (batch, size)
    }

    /// Take the next batch for per-key ordering: from the front, skipping records whose key is
    /// `busy` (in flight) or already in this batch, so each key has one record in flight at a
    /// time and its records go in order. Skipped records keep their places. May be empty.
    pub fn take_one_per_key(&mut self, limits: &Limits, busy: &KeySet) -> (Vec<Queued>, usize) {
        let mut batch: Vec<Queued> = Vec::new();
        let mut taken = KeySet::default();
        let mut kept = VecDeque::with_capacity(self.queue.len());
        let mut entries = 0;
        while let Some(q) = self.queue.pop_front() {
            let key = &q.record.partition_key;
            if busy.contains(key) || taken.contains(key) {
                kept.push_back(q);
                continue;
            }
            if !Self::fits(limits, batch.len(), entries, q.encoded_len) {
                kept.push_back(q);
                break;
            }
            taken.insert(key);
            entries += q.encoded_len;
            self.entry_bytes -= q.encoded_len;
            self.record_bytes -= q.record.size();
            batch.push(q);
        }
        kept.extend(self.queue.drain(..));
        self.queue = kept;
        let size = body::body_len(limits.request_overhead, batch.len(), entries);
        (batch, size)
    }

    /// Whether any waiting record's key is not `busy`.
    pub fn has_key_outside(&self, busy: &KeySet) -> bool {
        self.queue
            .iter()
            .any(|q| !busy.contains(&q.record.partition_key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::config::StreamTarget;

    fn limits(max_request_bytes: usize) -> Limits {
        let mut l = Limits::new(1024 * 1024, max_request_bytes, 500).unwrap();
        l.request_overhead = body::request_overhead(&StreamTarget {
            name: Some("s".into()),
            arn: None,
        });
        l
    }

    fn queued(id: RecordId, data: usize, at: Millis) -> Queued {
        let record = Record {
            data: vec![7; data],
            partition_key: "k".into(),
            explicit_hash_key: None,
        };
        Queued {
            id,
            encoded_len: body::entry_len(&record),
            record,
            accepted_at: at,
            attempts: 0,
            last_failure: None,
        }
    }

    #[test]
    fn five_hundred_and_one_records_make_two_requests() {
        let l = limits(5 * 1024 * 1024);
        let mut b = Batcher::default();
        for id in 0..501 {
            b.push(queued(id, 10, 0));
        }
        assert!(b.is_full(&l));
        let (first, _) = b.take(&l);
        assert_eq!(first.len(), 500);
        assert_eq!(first.first().map(|q| q.id), Some(0));
        assert!(!b.is_full(&l));
        let (second, _) = b.take(&l);
        assert_eq!(second.iter().map(|q| q.id).collect::<Vec<_>>(), vec![500]);
        assert!(b.is_empty());
    }

    #[test]
    fn exactly_at_and_one_byte_over_the_request_limit() {
        let probe = queued(0, 30, 0);
        let l0 = limits(4096);
        // Limit set so that exactly three entries fill the body to the byte.
        let at = body::body_len(l0.request_overhead, 3, 3 * probe.encoded_len);
        let l = Limits {
            max_request_bytes: at,
            ..l0
        };
        let mut b = Batcher::default();
        for id in 0..3 {
            b.push(queued(id, 30, 0));
        }
        assert!(b.is_full(&l));
        let (batch, size) = b.take(&l);
        assert_eq!((batch.len(), size), (3, at));

        let over = Limits {
            max_request_bytes: at - 1,
            ..l0
        };
        for id in 0..3 {
            b.push(queued(id, 30, 0));
        }
        let (batch, size) = b.take(&over);
        assert_eq!(batch.len(), 2);
        assert!(size < at);
        assert_eq!(b.len(), 1);
    }

    #[test]
    fn one_record_per_key_and_busy_keys_wait_in_place() {
        let l = limits(5 * 1024 * 1024);
        let mut b = Batcher::default();
        for (id, key) in ["a", "b", "a", "c", "b", "d"].into_iter().enumerate() {
            let mut q = queued(id as RecordId, 10, 0);
            q.record.partition_key = key.into();
            b.push(q);
        }
        let mut busy = KeySet::default();
        busy.insert("c");
        let (batch, _) = b.take_one_per_key(&l, &busy);
        assert_eq!(batch.iter().map(|q| q.id).collect::<Vec<_>>(), [0, 1, 5]);
        assert_eq!(b.len(), 3);
        assert_eq!(
            b.front().map(|q| q.id),
            Some(2),
            "skipped records keep their order"
        );
        let mut all = KeySet::default();
        for k in ["a", "b", "c"] {
            all.insert(k);
        }
        assert!(!b.has_key_outside(&all));
        assert!(b.take_one_per_key(&l, &all).0.is_empty());
        assert_eq!(b.record_bytes(), 3 * (10 + 1));
    }

    #[test]
    fn key_set_is_a_multiset() {
        let mut s = KeySet::default();
        s.insert("a");
        s.insert("a");
        s.insert("b");
        s.remove("a");
        assert!(s.contains("a") && s.contains("b") && !s.contains("c"));
        s.remove("a");
        assert!(!s.contains("a"));
        s.remove("zzz");
        s.clear();
        assert!(!s.contains("b"));
    }

    #[test]
    fn linger_and_flush() {
        let l = limits(5 * 1024 * 1024);
        let mut b = Batcher::default();
        b.push(queued(0, 10, 1_000));
        b.push(queued(1, 10, 1_050));
        assert_eq!(b.deadline(100), Some(1_100));
        assert!(!b.is_due(1_099, 100, &l, 0));
        assert!(b.is_due(1_100, 100, &l, 0));
        assert!(
            b.is_due(1_000, 100, &l, 1),
            "a flush makes earlier records due at once"
        );
        assert_eq!(b.record_bytes(), 22);
    }
}
