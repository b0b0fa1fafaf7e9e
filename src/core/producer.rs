//! The producer state machine. It owns the buffered and in-flight records and decides what to
//! send; its caller does the I/O: it asks for the next request, signs and sends it, and hands
//! back the answer, getting the records' settlements in return. Time is always a parameter,
//! and the jitter comes from a generator seeded by the caller.
//!
//! Delivery: records that fail with a retryable error go back to the front of the buffer, in
//! their order, and are sent again after a backoff; records that succeeded are never resent;
//! terminal errors settle at once; a record still undelivered `recordTtlMs` after it was
//! accepted settles as `Expired`.
//!
//! Aggregation (optional): user records are packed into KPL aggregated records when a request
//! is built, grouped so each aggregate lands on one shard (see `aggregation` and `packer`); an
//! aggregate's answer settles all its records, each with its subsequence number.

use crate::core::aggregation::{Aggregation, AggregationMode, Plan};
use crate::core::batcher::{Batcher, KeySet, Queued};
use crate::core::classify::RetryClass;
use crate::core::config::{Limits, Ordering, ProducerConfig};
use crate::core::credentials::Credentials;
use crate::core::error::{Error, ErrorCode, Failure};
use crate::core::packer::{self, Entry};
use crate::core::record::Record;
use crate::core::request::{self, BatchId, PreparedRequest};
use crate::core::response::{self, Ack};
use crate::core::retry::{self, RetryQuota, Rng};
use crate::core::shard_map;
use crate::core::signer::{self, SignInput, SignedHeaders, SigningKeyCache};
use crate::core::stats::{put_payload_units, Latencies, Stats};
use crate::core::Millis;

/// Identifies an accepted record until it settles. Ids increase in acceptance order.
pub type RecordId = u64;

#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Acked(Ack),
    Failed(Failure),
}

/// The final result of one record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settlement {
    pub id: RecordId,
    pub outcome: Outcome,
}

/// What came back for a request.
#[derive(Clone, Copy, Debug)]
pub struct Answer<'a> {
    pub status: u16,
    /// The `x-amzn-ErrorType` header.
    pub error_type: Option<&'a str>,
    /// The `Date` header, as epoch milliseconds.
    pub date_ms: Option<Millis>,
    pub body: &'a [u8],
}

/// A response `Date` this far from the local clock corrects the signing clock even before
/// the service refuses a signature (it allows 5 minutes).
pub const SKEW_TOLERANCE_MS: i64 = 4 * 60_000;

#[derive(Debug)]
struct InFlight {
    batch_id: BatchId,
    sent_at: Millis,
    /// User records, in body order.
    records: Vec<Queued>,
    /// The Kinesis records that carry them when aggregated; `None`: one each.
    entries: Option<Vec<Entry>>,
    /// The shard map the request was packed with.
    map_generation: u32,
}

#[derive(Debug)]
pub struct Producer {
    config: ProducerConfig,
    batcher: Batcher,
    /// Requests awaiting their answer, oldest first (at most `maxInFlightRequests`, so a Vec).
    in_flight: Vec<InFlight>,
    next_record_id: RecordId,
    next_batch_id: BatchId,
    /// Records with smaller ids were accepted before the last flush and wait no longer.
    flush_below: RecordId,
    closed: bool,
    stats: Stats,
    signing_keys: SigningKeyCache,
    rng: Rng,
    quota: RetryQuota,
    /// Requests in a row that ended with records to retry; drives the backoff.
    failure_streak: u32,
    /// No request before this time (backoff after failures).
    paused_until: Millis,
    /// The last backoff followed a request that reached no server (no connection).
    paused_for_network: bool,
    /// Server clock minus local clock, learnt from answers; added to the signing time.
    clock_offset_ms: i64,
    /// The service refused the credentials as expired: the caller should fetch new ones.
    refresh_credentials: bool,
    /// Records (and their bytes) accepted and not yet settled: the buffer bounds count these.
    unsettled_records: usize,
    unsettled_bytes: usize,
    latencies: Latencies,
    /// Per-key ordering: keys with a record in flight.
    busy_keys: KeySet,
    aggregation: Option<Aggregation>,
}

impl Producer {
    /// `seed` seeds the backoff jitter (the host's randomness; fixed in tests).
    pub fn new(config: ProducerConfig, seed: u64) -> Self {
        Self {
            batcher: Batcher::default(),
            in_flight: Vec::new(),
            next_record_id: 0,
            next_batch_id: 0,
            flush_below: 0,
            closed: false,
            stats: Stats::default(),
            signing_keys: SigningKeyCache::default(),
            rng: Rng::new(seed),
            quota: RetryQuota::default(),
            failure_streak: 0,
            paused_until: 0,
            paused_for_network: false,
            clock_offset_ms: 0,
            refresh_credentials: false,
            unsettled_records: 0,
            unsettled_bytes: 0,
            latencies: Latencies::default(),
            busy_keys: KeySet::default(),
            aggregation: config.aggregation.map(Aggregation::new),
            config,
        }
    }

    pub fn config(&self) -> &ProducerConfig {
        &self.config
    }

    /// Validate and accept a record. A refused record changes nothing.
    pub fn put(&mut self, record: Record, now: Millis) -> Result<RecordId, Error> {
        if self.closed {
            return Err(Error::Closed);
        }
        let encoded_len = record.validate(&self.config.limits)?;
        let size = record.size();
        if self.unsettled_records >= self.config.max_buffered_records
            || self.unsettled_bytes + size > self.config.max_buffered_bytes
        {
            return Err(Error::BufferFull {
                records: self.unsettled_records,
                bytes: self.unsettled_bytes,
                max_records: self.config.max_buffered_records,
                max_bytes: self.config.max_buffered_bytes,
            });
        }
        self.unsettled_records += 1;
        self.unsettled_bytes += size;
        let id = self.next_record_id;
        self.next_record_id += 1;
        self.stats.records_accepted += 1;
        self.stats.bytes_accepted += record.size() as u64;
        self.batcher.push(Queued {
            id,
            record,
            encoded_len,
            accepted_at: now,
            attempts: 0,
            last_failure: None,
        });
        Ok(id)
    }

    /// The id the next accepted record will get.
    pub fn next_record_id(&self) -> RecordId {
        self.next_record_id
    }

    /// Make everything accepted so far due at once.
    pub fn flush(&mut self) {
        self.flush_below = self.next_record_id;
    }

    /// The host learnt that the network is back (a browser's `online` event). A backoff that
    /// requests failing to connect built up says nothing about the service: retry now, with
    /// the streak started afresh. A backoff the service asked for (throttling, errors) stays.
    pub fn network_restored(&mut self) {
        if self.paused_for_network {
            self.paused_until = 0;
            self.failure_streak = 0;
            self.paused_for_network = false;
        }
    }

    /// Refuse new records and flush the rest.
    pub fn close(&mut self) {
        self.closed = true;
        self.flush();
    }

    /// Nothing buffered and nothing in flight.
    pub fn is_idle(&self) -> bool {
        self.batcher.is_empty() && self.in_flight.is_empty() && self.held_records() == 0
    }

    /// Records of aggregates that landed on an unexpected shard, held for the shard check.
    fn held_records(&self) -> usize {
        self.aggregation
            .as_ref()
            .map_or(0, Aggregation::held_records)
    }

    fn plan(&self) -> Plan<'_> {
        self.aggregation
            .as_ref()
            .map_or(Plan::Plain, Aggregation::plan)
    }

    /// The limits that make a batch due as full. Aggregated, 500 user records are far from a
    /// full request: only the bytes count.
    fn due_limits(&self) -> Limits {
        match self.plan() {
            Plan::Pack(_) => Limits {
                max_records_per_request: usize::MAX,
                ..self.config.limits
            },
            _ => self.config.limits,
        }
    }

    /// Requests allowed in flight now: one at a time once the retry quota is spent.
    fn in_flight_limit(&self) -> usize {
        if self.quota.is_exhausted() {
            1
        } else {
            self.config.max_in_flight_requests
        }
    }

    /// When the caller should next call [`Producer::expire`] and [`Producer::next_request`] if
    /// nothing else happens: the next batch's send time (linger, flush, backoff) unless the
    /// in-flight limit is reached (an answer is then the next event), or the oldest record's
    /// expiry, whichever comes first.
    pub fn wake_at(&self) -> Option<Millis> {
        let front = self.batcher.front()?;
        let expiry = self
            .config
            .record_ttl_ms
            .map(|ttl| front.accepted_at.saturating_add(ttl));
        let sendable = self.in_flight.len() < self.in_flight_limit()
            && !matches!(self.plan(), Plan::Wait)
            && (self.config.ordering != Ordering::PerKey
                || self.batcher.has_key_outside(&self.busy_keys));
        let send = sendable.then(|| {
            let due = if front.id < self.flush_below || self.batcher.is_full(&self.due_limits()) {
                0
            } else {
                front.accepted_at.saturating_add(self.config.linger_ms)
            };
            due.max(self.paused_until)
        });
        match (send, expiry) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Settle buffered records whose time to live has run out.
    pub fn expire(&mut self, now: Millis) -> Vec<Settlement> {
        let Some(ttl) = self.config.record_ttl_ms else {
            return Vec::new();
        };
        let mut expired = Vec::new();
        while self
            .batcher
            .front()
            .is_some_and(|q| q.accepted_at.saturating_add(ttl) <= now)
        {
            if let Some(q) = self.batcher.pop_front() {
                expired.push(q);
            }
        }
        expired
            .into_iter()
            .map(|q| self.settle_expired(q, ttl))
            .collect()
    }

    fn settle_expired(&mut self, q: Queued, ttl: u64) -> Settlement {
        self.stats.records_expired += 1;
        self.stats.failures_by_code.add(ErrorCode::Expired);
        let last = q.last_failure.as_ref();
        // A credentials provider that kept failing is the cause the caller must act on.
        let code = match last.map(|f| f.code) {
            Some(ErrorCode::Credentials) => ErrorCode::Credentials,
            _ => ErrorCode::Expired,
        };
        let failure = Failure {
            code,
            retry: RetryClass::Terminal,
            aws_code: last.and_then(|f| f.aws_code.clone()),
            message: match last {
                Some(f) => format!("not delivered within recordTtlMs ({ttl} ms) after {} attempts; last error: {f}", q.attempts),
                None => format!("not delivered within recordTtlMs ({ttl} ms)"),
            },
            status: last.and_then(|f| f.status),
            last_code: last.map(|f| f.code),
        };
        self.settle(q, Outcome::Failed(failure))
    }

    /// The next request to send, if one is due and the in-flight limit and backoff allow it.
    /// Call [`Producer::expire`] first so that no expired record is sent.
    pub fn next_request(&mut self, now: Millis) -> Option<PreparedRequest> {
        // Aggregation's ListShards calls go first: they decide how the next batch is grouped.
        let waiting = !self.batcher.is_empty();
        if let Some(aggregation) = &mut self.aggregation {
            let listing = aggregation.list_request(&self.config, self.next_batch_id, waiting, now);
            if listing.is_some() {
                self.next_batch_id += 1;
                return listing;
            }
        }
        if self.in_flight.len() >= self.in_flight_limit()
            || now < self.paused_until
            || !self.batcher.is_due(
                now,
                self.config.linger_ms,
                &self.due_limits(),
                self.flush_below,
            )
        {
            return None;
        }
        if matches!(self.plan(), Plan::Wait) {
            return None;
        }
        let limits = self.config.limits;
        self.take_request(now, &limits)
    }

    /// A request for a page that is going away (`pagehide`, hidden): sent at once whatever the
    /// linger, backoff and in-flight limit, its body at most `max_body` bytes (the browser's
    /// keepalive budget). `None` when nothing is buffered or the oldest record does not fit;
    /// records wait for a shard map no longer: they go ungrouped, as plain records.
    pub fn next_unload_request(&mut self, now: Millis, max_body: usize) -> Option<PreparedRequest> {
        let limits = Limits {
            max_request_bytes: self.config.limits.max_request_bytes.min(max_body),
            ..self.config.limits
        };
        let front = self.batcher.front()?;
        if limits.request_overhead + front.encoded_len > limits.max_request_bytes {
            return None;
        }
        self.take_request(now, &limits)
    }

    /// Take the next batch within `limits` and build its request (packing it when aggregating).
    fn take_request(&mut self, now: Millis, limits: &Limits) -> Option<PreparedRequest> {
        let per_key = self.config.ordering == Ordering::PerKey;
        let batch_id = self.next_batch_id;
        let map_generation = self.aggregation.as_ref().map_or(0, Aggregation::generation);
        let (records, entries, request) = match self
            .aggregation
            .as_ref()
            .map_or(Plan::Plain, Aggregation::plan)
        {
            Plan::Plain | Plan::Wait => {
                let (records, body_len) = if per_key {
                    self.batcher.take_one_per_key(limits, &self.busy_keys)
                } else {
                    self.batcher.take(limits)
                };
                let request = request::put_records(
                    batch_id,
                    &self.config,
                    records.iter().map(|q| &q.record),
                    body_len,
                );
                (records, None, request)
            }
            Plan::Pack(grouping) => {
                let max_bytes = self.config.aggregation.map_or(0, |a| a.max_bytes);
                let packed = packer::pack(
                    &mut self.batcher,
                    limits,
                    max_bytes,
                    grouping,
                    per_key.then_some(&self.busy_keys),
                );
                let request =
                    request::put_records(batch_id, &self.config, &packed.records, packed.body_len);
                (packed.members, Some(packed.entries), request)
            }
        };
        if records.is_empty() {
            return None;
        }
        if per_key {
            for q in &records {
                self.busy_keys.insert(&q.record.partition_key);
            }
        }
        self.next_batch_id += 1;
        self.stats.requests += 1;
        self.stats.records_sent += records.len() as u64;
        self.stats.kinesis_records_sent += entries.as_ref().map_or(records.len(), Vec::len) as u64;
        self.stats.bytes_sent += records.iter().map(|q| q.record.size() as u64).sum::<u64>();
        self.in_flight.push(InFlight {
            batch_id,
            sent_at: now,
            records,
            entries,
            map_generation,
        });
        Some(request)
    }

    /// Sign `request` with the body hash computed by the caller.
    pub fn sign(
        &mut self,
        request: &PreparedRequest,
        credentials: &Credentials,
        payload_sha256_hex: &str,
        now: Millis,
    ) -> Result<SignedHeaders, Error> {
        signer::sign(
            &SignInput {
                method: "POST",
                url: &request.url,
                headers: &request.headers,
                payload_sha256_hex,
                region: &self.config.region,
                service: request::SERVICE,
                time_ms: now.saturating_add_signed(self.clock_offset_ms),
            },
            credentials,
            &mut self.signing_keys,
        )
    }

    /// Hand back the service's answer to a request.
    pub fn on_response(
        &mut self,
        batch_id: BatchId,
        answer: Answer<'_>,
        now: Millis,
    ) -> Vec<Settlement> {
        if self
            .aggregation
            .as_ref()
            .is_some_and(|a| a.is_listing(batch_id))
        {
            let page = shard_map::parse_list_shards(answer.status, answer.error_type, answer.body);
            self.learn_clock(&answer, page.as_ref().err(), now);
            return self.on_list_answer(page, now);
        }
        let Some(expected) = self.batch(batch_id).map(|b| match &b.entries {
            Some(entries) => entries.len(),
            None => b.records.len(),
        }) else {
            return Vec::new();
        };
        let results =
            response::parse_put_records(answer.status, answer.error_type, answer.body, expected);
        self.learn_clock(&answer, results.as_ref().err(), now);
        let Some(batch) = self.take_batch(batch_id) else {
            return Vec::new();
        };
        self.latencies.record(now.saturating_sub(batch.sent_at));
        match results {
            Err(failure) => self.fail_whole(batch, failure, now),
            Ok(results) => {
                let outcomes = self.per_record(batch, results);
                self.conclude(outcomes, false, now)
            }
        }
    }

    /// Learn the server's clock from an answer's `Date`: at once when the request was refused
    /// for skew, else when it drifts past the tolerance.
    fn learn_clock(&mut self, answer: &Answer<'_>, refusal: Option<&Failure>, now: Millis) {
        if let Some(server) = answer.date_ms {
            let skew = server as i64 - now as i64;
            let refused = refusal.is_some_and(|f| f.retry == RetryClass::ClockSkew);
            // Compared with the corrected clock, so a learnt offset is kept while it holds.
            if refused || (skew - self.clock_offset_ms).abs() > SKEW_TOLERANCE_MS {
                self.clock_offset_ms = skew;
            }
        }
    }

    /// Each user record's result from its Kinesis record's: an aggregate's acknowledgement
    /// numbers its records; one that landed on an unexpected shard holds them for the check.
    fn per_record(
        &mut self,
        batch: InFlight,
        results: Vec<response::EntryResult>,
    ) -> Vec<(Queued, response::EntryResult)> {
        let InFlight {
            records,
            entries,
            map_generation,
            ..
        } = batch;
        let Some(entries) = entries else {
            for (q, r) in records.iter().zip(&results) {
                if r.is_ok() {
                    self.count_kinesis_ack(q.record.size());
                }
            }
            return records.into_iter().zip(results).collect();
        };
        let mut outcomes = Vec::with_capacity(records.len());
        let mut members = records.into_iter();
        for (entry, result) in entries.into_iter().zip(results) {
            let carried = members.by_ref().take(entry.len);
            let ack = match result {
                Ok(ack) => ack,
                Err(f) => {
                    outcomes.extend(carried.map(|q| (q, Err(f.clone()))));
                    continue;
                }
            };
            self.count_kinesis_ack(entry.size);
            let numbered = carried.enumerate().map(|(i, q)| {
                let sub_sequence_number = (entry.len > 1).then_some(i as u32);
                (
                    q,
                    Ack {
                        sub_sequence_number,
                        ..ack.clone()
                    },
                )
            });
            match (&entry.shard, self.aggregation.as_mut()) {
                (Some(expected), Some(aggregation)) if *expected != ack.shard_id => {
                    let held: Vec<_> = numbered.collect();
                    if self.config.ordering == Ordering::PerKey {
                        // Their keys stay busy until the check settles them.
                        for (q, _) in &held {
                            self.busy_keys.insert(&q.record.partition_key);
                        }
                    }
                    aggregation.misplaced(ack.shard_id.clone(), map_generation, held);
                }
                _ => outcomes.extend(numbered.map(|(q, a)| (q, Ok(a)))),
            }
        }
        outcomes
    }

    fn count_kinesis_ack(&mut self, size: usize) {
        self.stats.kinesis_records_acknowledged += 1;
        self.stats.put_payload_units += put_payload_units(size);
    }

    /// A `ListShards` answer (or failure): settle or resend the records held for the check.
    fn on_list_answer(
        &mut self,
        page: Result<shard_map::Page, Failure>,
        now: Millis,
    ) -> Vec<Settlement> {
        if matches!(&page, Err(f) if f.code == ErrorCode::ExpiredCredentials) {
            self.refresh_credentials = true;
        }
        let Some(aggregation) = self.aggregation.as_mut() else {
            return Vec::new();
        };
        let verdict = aggregation.on_list_answer(page, now);
        if self.config.ordering == Ordering::PerKey {
            let keys = verdict.acked.iter().map(|(q, _)| q).chain(&verdict.resend);
            for q in keys {
                self.busy_keys.remove(&q.record.partition_key);
            }
        }
        self.batcher.requeue(verdict.resend);
        verdict
            .acked
            .into_iter()
            .map(|(q, ack)| self.settle(q, Outcome::Acked(ack)))
            .collect()
    }

    /// The request failed as a whole without an answer: not signed, not sent, or no usable answer.
    pub fn on_failure(
        &mut self,
        batch_id: BatchId,
        failure: Failure,
        now: Millis,
    ) -> Vec<Settlement> {
        if self
            .aggregation
            .as_ref()
            .is_some_and(|a| a.is_listing(batch_id))
        {
            return self.on_list_answer(Err(failure), now);
        }
        match self.take_batch(batch_id) {
            Some(batch) => self.fail_whole(batch, failure, now),
            None => Vec::new(),
        }
    }

    fn fail_whole(&mut self, batch: InFlight, failure: Failure, now: Millis) -> Vec<Settlement> {
        self.stats.requests_failed += 1;
        let outcomes = batch
            .records
            .into_iter()
            .map(|q| (q, Err(failure.clone())))
            .collect();
        self.conclude(outcomes, true, now)
    }

    /// Settle acknowledged and terminally failed records; put retryable ones back, with a backoff.
    /// `whole`: the request failed as a whole, which escalates the backoff and spends quota.
    fn conclude(
        &mut self,
        outcomes: Vec<(Queued, response::EntryResult)>,
        whole: bool,
        now: Millis,
    ) -> Vec<Settlement> {
        let mut settled = Vec::new();
        let mut retry = Vec::new();
        let mut class = None;
        for (mut q, result) in outcomes {
            match result {
                Ok(ack) => settled.push(self.settle(q, Outcome::Acked(ack))),
                Err(f) if !f.retry.is_retryable() => {
                    settled.push(self.settle(q, Outcome::Failed(f)))
                }
                Err(f) => {
                    self.stats.failures_by_code.add(f.code);
                    if f.code == ErrorCode::Throttled {
                        self.stats.throttles += 1;
                    }
                    if f.code == ErrorCode::ExpiredCredentials {
                        self.refresh_credentials = true;
                    }
                    // Throttling anywhere in the answer calls for the longer backoff.
                    if class != Some(RetryClass::Throttling) {
                        class = Some(f.retry);
                    }
                    q.attempts += 1;
                    q.last_failure = Some(f);
                    retry.push(q);
                }
            }
        }
        let Some(class) = class else {
            self.failure_streak = 0;
            self.quota.refund();
            return settled;
        };
        self.stats.retries += retry.len() as u64;
        let backoff = if !whole {
            // Per-record failures in an answer: the service is up and some shards are busy.
            // Retry after one base delay (a shard's limits are per second), without escalating
            // or charging the quota, which guard against outages. The answer itself is a
            // success, as an SDK counts it: it refills the quota, or a stream whose answers
            // always carry a few failures would never recover from an outage's spending.
            self.failure_streak = 0;
            self.quota.refund();
            retry::backoff_ms(class, 0, self.rng.next_f64())
        } else if self.quota.acquire(class) {
            retry::backoff_ms(class, self.failure_streak, self.rng.next_f64())
        } else {
            retry::MAX_BACKOFF_MS
        };
        if whole {
            self.failure_streak = self.failure_streak.saturating_add(1);
        }
        let until = now.saturating_add(backoff);
        if until >= self.paused_until {
            self.paused_for_network = whole
                && retry.iter().all(|q| {
                    q.last_failure
                        .as_ref()
                        .is_some_and(|f| f.code == ErrorCode::Network)
                });
        }
        self.paused_until = self.paused_until.max(until);
        self.batcher.requeue(retry);
        settled.extend(self.expire(now));
        settled
    }

    /// Give up on every record not yet settled, buffered or in flight (a `close()` deadline
    /// passed): each settles as failed with `Closed`. Answers still to come are ignored.
    pub fn abandon(&mut self) -> Vec<Settlement> {
        let failure = Failure {
            code: ErrorCode::Closed,
            retry: RetryClass::Terminal,
            aws_code: None,
            message:
                "the producer was closed before the record was delivered (close() deadline passed)"
                    .into(),
            status: None,
            last_code: None,
        };
        self.busy_keys.clear();
        let mut records: Vec<Queued> = self.in_flight.drain(..).flat_map(|b| b.records).collect();
        if let Some(aggregation) = &mut self.aggregation {
            records.extend(aggregation.take_held());
        }
        while let Some(q) = self.batcher.pop_front() {
            records.push(q);
        }
        records
            .into_iter()
            .map(|q| self.settle(q, Outcome::Failed(failure.clone())))
            .collect()
    }

    /// Whether the request `batch_id` still waits for its answer: not abandoned (a `close()`
    /// deadline), so the host may still send it.
    pub fn is_awaiting(&self, batch_id: BatchId) -> bool {
        self.in_flight.iter().any(|b| b.batch_id == batch_id)
            || self
                .aggregation
                .as_ref()
                .is_some_and(|a| a.is_listing(batch_id))
    }

    /// Whether the service refused the credentials since the last call: fetch new ones.
    pub fn take_refresh_credentials(&mut self) -> bool {
        std::mem::take(&mut self.refresh_credentials)
    }

    /// Server clock minus local clock, as learnt from answers.
    pub fn clock_offset_ms(&self) -> i64 {
        self.clock_offset_ms
    }

    /// Milliseconds until the backoff allows the next request (0 when not backing off).
    pub fn backoff_remaining(&self, now: Millis) -> u64 {
        self.paused_until.saturating_sub(now)
    }

    fn batch(&self, batch_id: BatchId) -> Option<&InFlight> {
        self.in_flight.iter().find(|b| b.batch_id == batch_id)
    }

    fn take_batch(&mut self, batch_id: BatchId) -> Option<InFlight> {
        let index = self.in_flight.iter().position(|b| b.batch_id == batch_id)?;
        let batch = self.in_flight.remove(index);
        for q in &batch.records {
            self.busy_keys.remove(&q.record.partition_key);
        }
        Some(batch)
    }

    fn settle(&mut self, q: Queued, outcome: Outcome) -> Settlement {
        self.unsettled_records -= 1;
        self.unsettled_bytes -= q.record.size();
        let size = q.record.size() as u64;
        match &outcome {
            Outcome::Acked(_) => {
                self.stats.records_acknowledged += 1;
                self.stats.bytes_acknowledged += size;
            }
            Outcome::Failed(_) => {
                self.stats.records_failed += 1;
                self.stats.bytes_failed += size;
            }
        }
        Settlement { id: q.id, outcome }
    }

    pub fn stats(&self, now: Millis) -> Stats {
        Stats {
            buffered_records: self.batcher.len() as u64,
            buffered_bytes: self.batcher.record_bytes() as u64,
            in_flight_requests: self.in_flight.len() as u64,
            in_flight_records: self
                .in_flight
                .iter()
                .map(|b| b.records.len() as u64)
                .sum::<u64>()
                + self.held_records() as u64,
            current_backoff_ms: self.backoff_remaining(now),
            clock_offset_ms: self.clock_offset_ms,
            latency_p50_ms: self.latencies.percentile(50),
            latency_p99_ms: self.latencies.percentile(99),
            aggregation: self
                .aggregation
                .as_ref()
                .map_or(AggregationMode::Off, Aggregation::mode),
            aggregation_note: self
                .aggregation
                .as_ref()
                .and_then(|a| a.note().map(str::to_owned)),
            shard_count: self
                .aggregation
                .as_ref()
                .map_or(0, |a| a.shard_count() as u64),
            ..self.stats.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::classify::transport_failure;
    use crate::core::config::ProducerOptions;
    use crate::core::error::ErrorCode;
    use crate::core::signer::sha256_hex;

    fn producer_with(options: ProducerOptions) -> Producer {
        Producer::new(
            ProducerConfig::from_options(ProducerOptions {
                region: Some("us-east-1".into()),
                stream_name: Some("readings".into()),
                ..options
            })
            .unwrap(),
            7,
        )
    }

    fn producer(max_in_flight: f64) -> Producer {
        producer_with(ProducerOptions {
            max_in_flight_requests: Some(max_in_flight),
            ..Default::default()
        })
    }

    fn rec(key: &str) -> Record {
        Record {
            data: b"{\"t\":1}".to_vec(),
            partition_key: key.into(),
            explicit_hash_key: None,
        }
    }

    const OK: &str = r#"{"SequenceNumber":"1","ShardId":"shardId-0"}"#;
    const THROTTLED: &str =
        r#"{"ErrorCode":"ProvisionedThroughputExceededException","ErrorMessage":"slow down"}"#;
    const INTERNAL: &str = r#"{"ErrorCode":"InternalFailure","ErrorMessage":"x"}"#;

    fn answer(entries: &[&str]) -> Vec<u8> {
        format!(
            "{{\"FailedRecordCount\":0,\"Records\":[{}]}}",
            entries.join(",")
        )
        .into_bytes()
    }

    fn ok_answer(status: u16, body: &[u8]) -> Answer<'_> {
        Answer {
            status,
            error_type: None,
            date_ms: None,
            body,
        }
    }

    fn keys(req: &PreparedRequest) -> Vec<String> {
        let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
        body["Records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["PartitionKey"].as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn linger_then_send_and_settle_in_order() {
        let mut p = producer(4.0);
        let a = p.put(rec("a"), 1_000).unwrap();
        p.put(rec("b"), 1_010).unwrap();
        assert_eq!(p.wake_at(), Some(1_100));
        assert!(p.next_request(1_099).is_none());
        let req = p.next_request(1_100).unwrap();
        assert_eq!(req.url, "https://kinesis.us-east-1.amazonaws.com/");
        assert!(req
            .headers
            .contains(&("x-amz-target", "Kinesis_20131202.PutRecords")));
        assert_eq!(keys(&req), ["a", "b"]);
        let settled = p.on_response(req.batch_id, ok_answer(200, &answer(&[OK, OK])), 1_200);
        assert_eq!(settled.len(), 2);
        assert_eq!(settled[0].id, a);
        assert!(matches!(&settled[0].outcome, Outcome::Acked(ack) if ack.sequence_number == "1"));
        assert!(p.is_idle());
    }

    #[test]
    fn only_failed_entries_are_sent_again_in_their_order() {
        let mut p = producer(4.0);
        for k in ["a", "b", "c", "d"] {
            p.put(rec(k), 0).unwrap();
        }
        p.flush();
        let first = p.next_request(0).unwrap();
        let settled = p.on_response(
            first.batch_id,
            ok_answer(200, &answer(&[OK, INTERNAL, OK, THROTTLED])),
            10,
        );
        assert_eq!(settled.iter().map(|s| s.id).collect::<Vec<_>>(), [0, 2]);
        let stats = p.stats(0);
        assert_eq!(
            (stats.retries, stats.throttles, stats.buffered_records),
            (2, 1, 2)
        );
        // New records queue behind the retried ones.
        p.put(rec("e"), 20).unwrap();
        // Throttling in the answer: at most the throttling base before the next attempt.
        let wake = p.wake_at().unwrap();
        assert!(
            (10..=10 + retry::THROTTLING_BASE_MS).contains(&wake),
            "{wake}"
        );
        assert!(
            p.next_request(wake - 1).is_none(),
            "no request during the backoff"
        );
        p.flush();
        let second = p.next_request(wake).unwrap();
        assert_eq!(keys(&second), ["b", "d", "e"]);
        let settled = p.on_response(
            second.batch_id,
            ok_answer(200, &answer(&[OK, OK, OK])),
            wake + 5,
        );
        assert_eq!(settled.iter().map(|s| s.id).collect::<Vec<_>>(), [1, 3, 4]);
        assert!(p.is_idle());
        assert_eq!(p.stats(0).records_sent, 7, "a and c were never sent twice");
    }

    #[test]
    fn terminal_failures_settle_at_once_retryable_whole_failures_retry() {
        let mut p = producer(4.0);
        for k in ["a", "b", "c"] {
            p.put(rec(k), 0).unwrap();
        }
        p.flush();
        let req = p.next_request(0).unwrap();
        let settled = p.on_response(
            req.batch_id,
            ok_answer(
                400,
                br#"{"__type":"ResourceNotFoundException","message":"no"}"#,
            ),
            1,
        );
        assert_eq!(settled.len(), 3);
        assert!(settled
            .iter()
            .all(|s| matches!(&s.outcome, Outcome::Failed(f) if f.code == ErrorCode::NotFound && f.status == Some(400))));
        assert_eq!(p.stats(0).requests_failed, 1);
        // An answer for a batch no longer in flight is ignored.
        assert!(p
            .on_response(req.batch_id, ok_answer(200, b"{}"), 2)
            .is_empty());

        p.put(rec("d"), 10).unwrap();
        p.flush();
        let req = p.next_request(10).unwrap();
        assert!(p
            .on_failure(
                req.batch_id,
                transport_failure(ErrorCode::Network, "reset"),
                11
            )
            .is_empty());
        let again = p.next_request(11 + retry::TRANSIENT_BASE_MS).unwrap();
        assert_eq!(keys(&again), ["d"]);
    }

    #[test]
    fn the_network_coming_back_ends_a_backoff_only_failed_connections_built() {
        let mut p = producer(1.0);
        p.put(rec("a"), 0).unwrap();
        p.flush();
        let mut now = 0;
        for _ in 0..5 {
            now += p.backoff_remaining(now);
            let req = p.next_request(now).unwrap();
            p.on_failure(
                req.batch_id,
                transport_failure(ErrorCode::Network, "offline"),
                now,
            );
        }
        assert!(p.backoff_remaining(now) > 0);
        p.network_restored();
        assert_eq!(p.backoff_remaining(now), 0);
        let req = p.next_request(now).expect("sent at once");

        // A backoff the service asked for stays.
        p.on_response(req.batch_id, ok_answer(503, b""), now);
        let wait = p.backoff_remaining(now);
        assert!(wait > 0);
        p.network_restored();
        assert_eq!(p.backoff_remaining(now), wait);
    }

    #[test]
    fn backoff_grows_with_consecutive_failures_and_resets_on_success() {
        let mut p = producer(1.0);
        p.put(rec("a"), 0).unwrap();
        p.flush();
        let mut now = 0;
        let mut ceilings = Vec::new();
        for streak in 0..6 {
            let req = p.next_request(now).unwrap();
            p.on_response(req.batch_id, ok_answer(503, b""), now);
            let wait = p.backoff_remaining(now);
            let ceiling = (retry::TRANSIENT_BASE_MS << streak).min(retry::MAX_BACKOFF_MS);
            assert!(wait <= ceiling, "streak {streak}: {wait} > {ceiling}");
            ceilings.push(ceiling);
            now += wait;
        }
        let req = p.next_request(now).unwrap();
        assert_eq!(
            p.on_response(req.batch_id, ok_answer(200, &answer(&[OK])), now)
                .len(),
            1
        );
        assert_eq!(p.backoff_remaining(now), 0);
        assert_eq!(p.stats(0).retries, 6);
    }

    #[test]
    fn per_record_failures_neither_escalate_the_backoff_nor_spend_the_quota() {
        let mut p = producer(4.0);
        let mut now = 0;
        for round in 0..200 {
            p.put(rec("a"), now).unwrap();
            p.put(rec("b"), now).unwrap();
            p.flush();
            now += p.backoff_remaining(now);
            let req = p.next_request(now).unwrap();
            let entries: Vec<&str> = if keys(&req).len() == 3 {
                vec![OK, INTERNAL, OK]
            } else {
                vec![OK, INTERNAL]
            };
            p.on_response(req.batch_id, ok_answer(200, &answer(&entries)), now);
            assert!(
                p.backoff_remaining(now) < retry::TRANSIENT_BASE_MS,
                "round {round}"
            );
        }
        assert!(!p.quota.is_exhausted());
    }

    #[test]
    fn answers_with_per_record_failures_refill_a_spent_quota() {
        let mut p = producer_with(ProducerOptions {
            record_ttl_ms: Some(f64::INFINITY),
            ..Default::default()
        });
        let mut now = 0;
        p.put(rec("a"), 0).unwrap();
        p.flush();
        while !p.quota.is_exhausted() {
            let req = p.next_request(now).unwrap();
            p.on_response(req.batch_id, ok_answer(503, b""), now);
            now += p.backoff_remaining(now);
        }
        for _ in 0..retry::TRANSIENT_COST {
            p.put(rec("b"), now).unwrap();
            p.flush();
            now += p.backoff_remaining(now);
            let req = p.next_request(now).unwrap();
            let entries: Vec<&str> = keys(&req)
                .iter()
                .map(|k| if k == "a" { INTERNAL } else { OK })
                .collect();
            p.on_response(req.batch_id, ok_answer(200, &answer(&entries)), now);
        }
        assert!(
            !p.quota.is_exhausted(),
            "answers that came back refill the quota"
        );
    }

    #[test]
    fn records_expire_after_their_ttl_and_never_with_infinity() {
        let mut p = producer_with(ProducerOptions {
            record_ttl_ms: Some(1_000.0),
            ..Default::default()
        });
        p.put(rec("a"), 0).unwrap();
        p.flush();
        let req = p.next_request(0).unwrap();
        assert!(p
            .on_response(req.batch_id, ok_answer(500, b"{}"), 10)
            .is_empty());
        // The expiry is the next wake-up once backoff allows nothing sooner to happen.
        assert!(p.wake_at().unwrap() <= 1_000);
        assert!(p.expire(999).is_empty());
        let expired = p.expire(1_000);
        assert_eq!(expired.len(), 1);
        let Outcome::Failed(f) = &expired[0].outcome else {
            panic!()
        };
        assert_eq!(
            (f.code, f.last_code, f.status),
            (
                ErrorCode::Expired,
                Some(ErrorCode::ServiceUnavailable),
                Some(500)
            )
        );
        assert!(f.message.contains("recordTtlMs (1000 ms)"), "{}", f.message);
        assert_eq!(p.stats(0).records_expired, 1);

        let mut forever = producer_with(ProducerOptions {
            record_ttl_ms: Some(f64::INFINITY),
            ..Default::default()
        });
        forever.put(rec("a"), 0).unwrap();
        assert!(forever.expire(u64::MAX / 2).is_empty());
    }

    #[test]
    fn a_failing_credentials_provider_settles_as_credentials_after_the_ttl() {
        let mut p = producer_with(ProducerOptions {
            record_ttl_ms: Some(100.0),
            ..Default::default()
        });
        p.put(rec("a"), 0).unwrap();
        p.flush();
        let req = p.next_request(0).unwrap();
        let failure = Error::Credentials("provider unreachable".into()).to_failure();
        assert!(
            p.on_failure(req.batch_id, failure, 5).is_empty(),
            "retried until the ttl"
        );
        let expired = p.expire(100);
        assert!(
            matches!(&expired[0].outcome, Outcome::Failed(f) if f.code == ErrorCode::Credentials)
        );
    }

    #[test]
    fn a_spent_retry_quota_slows_to_one_request_at_a_time() {
        let mut p = producer_with(ProducerOptions {
            max_in_flight_requests: Some(8.0),
            max_records_per_request: Some(1.0),
            record_ttl_ms: Some(f64::INFINITY),
            ..Default::default()
        });
        for i in 0..8 {
            p.put(rec(&format!("k{i}")), 0).unwrap();
        }
        p.flush();
        let mut now = 0;
        for _ in 0..(retry::QUOTA_TOKENS / retry::TRANSIENT_COST + 1) {
            let req = p.next_request(now).unwrap();
            p.on_response(req.batch_id, ok_answer(500, b""), now);
            now += p.backoff_remaining(now);
        }
        assert_eq!(
            p.backoff_remaining(now.saturating_sub(retry::MAX_BACKOFF_MS)),
            retry::MAX_BACKOFF_MS
        );
        assert!(p.next_request(now).is_some());
        assert!(
            p.next_request(now).is_none(),
            "only one request in flight while the quota is spent"
        );
        assert_eq!(p.stats(0).buffered_records, 7, "nothing dropped");
    }

    #[test]
    fn the_buffer_is_bounded_by_records_and_bytes_until_records_settle() {
        let mut p = producer_with(ProducerOptions {
            max_buffered_records: Some(3.0),
            ..Default::default()
        });
        for k in ["a", "b", "c"] {
            p.put(rec(k), 0).unwrap();
        }
        assert!(matches!(
            p.put(rec("d"), 0),
            Err(Error::BufferFull { records: 3, .. })
        ));
        p.flush();
        let req = p.next_request(0).unwrap();
        assert!(p.put(rec("d"), 0).is_err(), "in-flight records still count");
        p.on_response(req.batch_id, ok_answer(200, &answer(&[OK, OK, OK])), 1);
        assert!(p.put(rec("d"), 1).is_ok(), "room again once they settled");

        let size = rec("k").size();
        let mut by_bytes = producer_with(ProducerOptions {
            max_record_bytes: Some(size as f64),
            max_buffered_bytes: Some((2 * size) as f64),
            ..Default::default()
        });
        by_bytes.put(rec("k"), 0).unwrap();
        by_bytes.put(rec("k"), 0).unwrap();
        let err = by_bytes.put(rec("k"), 0).unwrap_err();
        assert_eq!(err.code(), ErrorCode::BufferFull);
        assert!(err.to_string().contains("maxBufferedBytes"));
    }

    #[test]
    fn per_key_ordering_holds_a_keys_later_records_until_earlier_ones_succeed() {
        let mut p = producer_with(ProducerOptions {
            ordering: Some("per-key".into()),
            ..Default::default()
        });
        for k in ["a", "a", "b", "a", "c"] {
            p.put(rec(k), 0).unwrap();
        }
        p.flush();
        let first = p.next_request(0).unwrap();
        assert_eq!(keys(&first), ["a", "b", "c"]);
        assert!(
            p.next_request(0).is_none(),
            "a's next record waits for the one in flight"
        );
        assert_eq!(
            p.wake_at(),
            Some(30_000),
            "nothing to send until an answer: only the expiry"
        );
        // a fails (retryable), b and c succeed: a goes again, still ahead of a's later records.
        p.on_response(
            first.batch_id,
            ok_answer(200, &answer(&[INTERNAL, OK, OK])),
            1,
        );
        let mut now = 1 + p.backoff_remaining(1);
        let mut stored_a = Vec::new();
        while let Some(req) = p.next_request(now) {
            assert_eq!(keys(&req), ["a"]);
            let settled = p.on_response(req.batch_id, ok_answer(200, &answer(&[OK])), now);
            stored_a.extend(settled.iter().map(|s| s.id));
            now += 1 + p.backoff_remaining(now);
        }
        assert_eq!(
            stored_a,
            [0, 1, 3],
            "a's records stored one at a time, in put order"
        );
        assert!(p.is_idle());
    }

    #[test]
    fn abandoning_settles_everything_unsettled_as_closed() {
        let mut p = producer(1.0);
        for k in ["a", "b", "c"] {
            p.put(rec(k), 0).unwrap();
        }
        p.close();
        let req = p.next_request(0).unwrap();
        assert!(p.is_awaiting(req.batch_id));
        p.put(rec("late"), 0).unwrap_err();
        let settled = p.abandon();
        assert_eq!(settled.iter().map(|s| s.id).collect::<Vec<_>>(), [0, 1, 2]);
        assert!(settled
            .iter()
            .all(|s| matches!(&s.outcome, Outcome::Failed(f) if f.code == ErrorCode::Closed)));
        assert!(p.is_idle());
        assert!(!p.is_awaiting(req.batch_id), "not to be sent any more");
        assert!(p
            .on_response(req.batch_id, ok_answer(200, &answer(&[OK, OK, OK])), 1)
            .is_empty());
        assert_eq!(p.stats(1).records_failed, 3);
    }

    #[test]
    fn in_flight_limit_holds_batches_back() {
        let mut p = producer(1.0);
        for i in 0..501 {
            p.put(rec(&format!("k{i}")), 0).unwrap();
        }
        let first = p.next_request(0).unwrap();
        assert!(
            p.next_request(1_000_000).is_none(),
            "second request must wait"
        );
        assert_eq!(
            p.wake_at(),
            Some(30_000),
            "only the expiry of the oldest record"
        );
        let entries = vec![OK; 500];
        assert_eq!(
            p.on_response(first.batch_id, ok_answer(200, &answer(&entries)), 1)
                .len(),
            500
        );
        assert!(
            p.next_request(100).is_some(),
            "the rest goes once its linger ends"
        );
    }

    #[test]
    fn refused_records_change_nothing_and_close_refuses() {
        let mut p = producer(4.0);
        p.put(rec("a"), 0).unwrap();
        assert!(p.put(rec(""), 0).is_err());
        assert_eq!(p.stats(0).records_accepted, 1);
        assert_eq!(p.stats(0).buffered_records, 1);
        p.close();
        assert_eq!(p.put(rec("b"), 0), Err(Error::Closed));
        // Closing flushes: the buffered record is due at once.
        assert!(p.next_request(0).is_some());
    }

    #[test]
    fn clock_skew_and_expired_credentials_are_corrected_and_retried() {
        let mut p = producer(4.0);
        let now = 1_700_000_000_000;
        p.put(rec("a"), now).unwrap();
        p.flush();
        let req = p.next_request(now).unwrap();
        let body = br#"{"__type":"InvalidSignatureException","message":"Signature expired: 20231114T220000Z is now earlier than 20231114T221500Z"}"#;
        let server = now + 15 * 60_000;
        let answer = Answer {
            status: 400,
            error_type: None,
            date_ms: Some(server),
            body,
        };
        assert!(
            p.on_response(req.batch_id, answer, now).is_empty(),
            "retried, not failed"
        );
        assert_eq!(p.clock_offset_ms(), 15 * 60_000);
        let creds = Credentials::new("AKID".into(), "SECRET".into(), None, None).unwrap();
        let retry = p.next_request(now + 60_000).unwrap();
        let signed = p
            .sign(&retry, &creds, &sha256_hex(&retry.body), now + 60_000)
            .unwrap();
        assert_eq!(
            signed.amz_date,
            crate::core::canonical::amz_date(server + 60_000)
        );
        // A small difference in a normal answer leaves the offset alone.
        let ok = answer_with_date(&[OK], now + 61_000 + 15 * 60_000 + 30_000);
        p.on_response(
            retry.batch_id,
            Answer {
                body: &ok.0,
                ..ok.1
            },
            now + 61_000,
        );
        assert_eq!(p.clock_offset_ms(), 15 * 60_000);

        p.put(rec("b"), now + 70_000).unwrap();
        p.flush();
        let req = p.next_request(now + 70_000).unwrap();
        assert!(!p.take_refresh_credentials());
        let expired = br#"{"__type":"ExpiredTokenException","message":"The security token included in the request is expired"}"#;
        assert!(p
            .on_response(req.batch_id, ok_answer(400, expired), now + 70_000)
            .is_empty());
        assert!(p.take_refresh_credentials());
        assert!(!p.take_refresh_credentials(), "taken once");
    }

    fn answer_with_date(entries: &[&str], date_ms: Millis) -> (Vec<u8>, Answer<'static>) {
        (
            answer(entries),
            Answer {
                status: 200,
                error_type: None,
                date_ms: Some(date_ms),
                body: b"",
            },
        )
    }

    #[test]
    fn signs_with_the_configured_region() {
        let mut p = producer(4.0);
        p.put(rec("a"), 0).unwrap();
        p.flush();
        let req = p.next_request(0).unwrap();
        let creds =
            Credentials::new("AKID".into(), "SECRET".into(), Some("TOKEN".into()), None).unwrap();
        let signed = p
            .sign(&req, &creds, &sha256_hex(&req.body), 1_700_000_000_000)
            .unwrap();
        assert!(signed
            .authorization
            .starts_with("AWS4-HMAC-SHA256 Credential=AKID/20231114/us-east-1/kinesis/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, Signature="));
        assert_eq!(signed.security_token.as_deref(), Some("TOKEN"));
    }

    #[test]
    fn unload_requests_ignore_linger_backoff_and_in_flight_but_keep_the_budget() {
        let mut p = producer_with(ProducerOptions {
            linger_ms: Some(60_000.0),
            max_in_flight_requests: Some(1.0),
            ..Default::default()
        });
        for i in 0..40 {
            p.put(rec(&format!("k{i}")), 0).unwrap();
        }
        p.flush();
        // One request in flight already, the limit reached: a normal request waits.
        let first = p.next_request(0).unwrap();
        p.on_failure(
            first.batch_id,
            transport_failure(ErrorCode::Network, "reset"),
            1,
        );
        assert!(p.next_request(1).is_none(), "backing off");
        let mut sent = 0;
        while let Some(req) = p.next_unload_request(1, 1_000) {
            assert!(req.body.len() <= 1_000, "{}", req.body.len());
            sent += keys(&req).len();
        }
        assert_eq!(sent, 40, "every record within the budget, several requests");
        assert!(p.next_unload_request(1, 1_000).is_none());

        // A record larger than the budget is not sent (it stays for the spool or the next page).
        p.put(
            Record {
                data: vec![b'x'; 2_000],
                partition_key: "big".into(),
                explicit_hash_key: None,
            },
            2,
        )
        .unwrap();
        assert!(p.next_unload_request(2, 1_000).is_none());
        assert_eq!(p.stats(2).buffered_records, 1);
        assert!(p.next_unload_request(2, 64 * 1024).is_some());
    }
}
