//! The batcher: accepted records wait here in order until a `PutRecords` call is due, because
//! it is full (500 records or the byte limit), because `lingerMs` has passed since its first
//! record, or because the caller asked for a flush. Failed records go back to the front.

use std::collections::VecDeque;
use std::rc::Rc;

use crate::core::engine::events::RecordId;
use crate::core::fnv::fnv1a;
use crate::core::kinesis::put_records::Framing;
use crate::core::model::error::Failure;
use crate::core::model::record::Record;
use crate::core::Millis;

/// A record accepted into the producer, with what the batcher needs to place it.
#[derive(Debug)]
pub struct Queued {
    pub id: RecordId,
    pub record: Record,
    /// Bytes of its entry in a request body.
    pub encoded_len: usize,
    pub accepted_at: Millis,
    /// Times it was sent and failed with a retryable error.
    pub attempts: u32,
    /// Why its last attempt failed.
    pub last_failure: Option<Rc<Failure>>,
}

impl AsRef<Record> for Queued {
    fn as_ref(&self) -> &Record {
        &self.record
    }
}

/// How much one request may hold.
#[derive(Clone, Copy, Debug)]
pub struct Fit<'a> {
    pub framing: &'a Framing,
    pub max_records: usize,
    /// Data plus partition keys, as Kinesis counts a request.
    pub max_payload: usize,
    /// The body as sent (base64 and JSON): bounded only for a page's keepalive budget.
    pub max_body: usize,
}

impl Fit<'_> {
    /// Whether `count` entries of `entries` body bytes and `payload` Kinesis-counted bytes in
    /// all fit one request.
    pub fn fits(&self, count: usize, entries: usize, payload: usize) -> bool {
        count <= self.max_records
            && payload <= self.max_payload
            && self.framing.body_len(count, entries) <= self.max_body
    }
}

/// Partition keys, held as 64-bit FNV-1a hashes in a sorted multiset: a small set with no
/// hasher's code in the wasm. A collision can only make a key look busy, which delays a record
/// and never lets one overtake another.
#[derive(Clone, Debug, Default)]
pub struct KeySet(Vec<u64>);

impl KeySet {
    fn hash(key: &str) -> u64 {
        fnv1a(key.as_bytes())
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

/// `take_where`'s test for per-key ordering: each key has one record in flight at a time, so its
/// records go in order; a key `busy` (in flight) or already taken waits.
pub fn one_per_key(busy: &KeySet) -> impl FnMut(&Queued) -> bool + '_ {
    let mut taken = KeySet::default();
    move |q| {
        let key = q.record.partition_key();
        let free = !busy.contains(key) && !taken.contains(key);
        if free {
            taken.insert(key);
        }
        free
    }
}

#[derive(Debug, Default)]
pub struct Queue {
    queue: VecDeque<Queued>,
    /// Sum of `encoded_len` over the queue.
    entry_bytes: usize,
    /// Sum of record sizes (data plus key) over the queue.
    record_bytes: usize,
}

impl Queue {
    pub fn push(&mut self, q: Queued) {
        self.entry_bytes += q.encoded_len;
        self.record_bytes += q.record.size();
        self.queue.push_back(q);
    }

    /// Put records back at the front, in their order, ahead of newer ones.
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

    /// No more records would fit in the next request.
    pub fn is_full(&self, fit: &Fit<'_>) -> bool {
        self.queue.len() >= fit.max_records
            || self.record_bytes >= fit.max_payload
            || fit.framing.body_len(self.queue.len(), self.entry_bytes) >= fit.max_body
    }

    /// Take the next batch: as many records from the front as fit, at least one. Returns the
    /// records and the exact size of their request body.
    pub fn take(&mut self, fit: &Fit<'_>) -> (Vec<Queued>, usize) {
        let mut batch = Vec::new();
        let (mut entries, mut payload) = (0, 0);
        while let Some(next) = self.queue.front() {
            // Every accepted record fits a request on its own, so a batch is never empty.
            let fits = fit.fits(
                batch.len() + 1,
                entries + next.encoded_len,
                payload + next.record.size(),
            );
            if !fits && !batch.is_empty() {
                break;
            }
            let Some(q) = self.pop_front() else {
                break;
            };
            entries += q.encoded_len;
            payload += q.record.size();
            batch.push(q);
        }
        let size = fit.framing.body_len(batch.len(), entries);
        (batch, size)
    }

    /// Take the next batch from the front, skipping the records `admit` refuses (for per-key
    /// ordering, a key in flight or already in the batch; for rate limiting, a shard at its
    /// rate). `admit` is asked only of records that fit. Skipped records keep their places.
    /// May be empty.
    pub fn take_where(
        &mut self,
        fit: &Fit<'_>,
        mut admit: impl FnMut(&Queued) -> bool,
    ) -> (Vec<Queued>, usize) {
        let mut batch: Vec<Queued> = Vec::new();
        let mut kept = VecDeque::with_capacity(self.queue.len());
        let (mut entries, mut payload) = (0, 0);
        while let Some(q) = self.queue.pop_front() {
            if !fit.fits(
                batch.len() + 1,
                entries + q.encoded_len,
                payload + q.record.size(),
            ) {
                kept.push_back(q);
                break;
            }
            if !admit(&q) {
                kept.push_back(q);
                continue;
            }
            entries += q.encoded_len;
            payload += q.record.size();
            self.entry_bytes -= q.encoded_len;
            self.record_bytes -= q.record.size();
            batch.push(q);
        }
        kept.extend(self.queue.drain(..));
        self.queue = kept;
        let size = fit.framing.body_len(batch.len(), entries);
        (batch, size)
    }

    /// Take out the records `which` names, the others keeping their order.
    pub fn take_out(&mut self, mut which: impl FnMut(&Queued) -> bool) -> Vec<Queued> {
        let (out, kept): (Vec<_>, Vec<_>) = self.queue.drain(..).partition(|q| which(q));
        self.queue = kept.into();
        for q in &out {
            self.entry_bytes -= q.encoded_len;
            self.record_bytes -= q.record.size();
        }
        out
    }

    /// Whether any waiting record's key is not `busy`.
    pub fn has_key_outside(&self, busy: &KeySet) -> bool {
        self.queue
            .iter()
            .any(|q| !busy.contains(q.record.partition_key()))
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use crate::core::kinesis::put_records::entry_len;
    use crate::core::model::target::StreamTarget;

    pub fn framing() -> Framing {
        Framing::new(&StreamTarget::new(Some("s"), None, "us-east-1").unwrap())
    }

    pub fn queued(id: RecordId, key: &str, hash_key: Option<&str>, data: usize) -> Queued {
        let record = Record::new(&vec![b'r'; data], key, hash_key);
        Queued {
            id,
            encoded_len: entry_len(&record),
            record,
            accepted_at: 0,
            attempts: 0,
            last_failure: None,
        }
    }

    fn fit(framing: &Framing, max_body: usize) -> Fit<'_> {
        Fit {
            framing,
            max_records: 500,
            max_payload: usize::MAX,
            max_body,
        }
    }

    #[test]
    fn five_hundred_and_one_records_make_two_requests() {
        let framing = framing();
        let f = fit(&framing, 5 << 20);
        let mut b = Queue::default();
        for id in 0..501 {
            b.push(queued(id, "k", None, 10));
        }
        assert!(b.is_full(&f));
        let (first, _) = b.take(&f);
        assert_eq!(first.len(), 500);
        assert_eq!(first.first().map(|q| q.id), Some(0));
        assert!(!b.is_full(&f));
        let (second, _) = b.take(&f);
        assert_eq!(second.iter().map(|q| q.id).collect::<Vec<_>>(), vec![500]);
        assert!(b.is_empty());
    }

    #[test]
    fn exactly_at_and_one_byte_over_the_request_limit() {
        let framing = framing();
        let probe = queued(0, "k", None, 30);
        // Limit set so that exactly three entries fill the body to the byte.
        let at = framing.body_len(3, 3 * probe.encoded_len);
        let mut b = Queue::default();
        for id in 0..3 {
            b.push(queued(id, "k", None, 30));
        }
        assert!(b.is_full(&fit(&framing, at)));
        let (batch, size) = b.take(&fit(&framing, at));
        assert_eq!((batch.len(), size), (3, at));

        for id in 0..3 {
            b.push(queued(id, "k", None, 30));
        }
        let (batch, size) = b.take(&fit(&framing, at - 1));
        assert_eq!(batch.len(), 2);
        assert!(size < at);
        assert_eq!(b.len(), 1);
    }

    #[test]
    fn one_record_per_key_and_busy_keys_wait_in_place() {
        let framing = framing();
        let f = fit(&framing, 5 << 20);
        let mut b = Queue::default();
        for (id, key) in ["a", "b", "a", "c", "b", "d"].into_iter().enumerate() {
            b.push(queued(id as RecordId, key, None, 10));
        }
        let mut busy = KeySet::default();
        busy.insert("c");
        let (batch, _) = b.take_where(&f, one_per_key(&busy));
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
        assert!(b.take_where(&f, one_per_key(&all)).0.is_empty());
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
}
