//! The producer: a deterministic state machine in the style of quinn-proto. Records, answers,
//! credentials and the passing of time go in; requests to send, the next time it wants to be
//! woken and events (records settled, credentials wanted, requests to abort, closed) come out.
//! It does no I/O and reads no clock: `now` is always a parameter, and the backoff's jitter
//! comes from a generator seeded by the host.
//!
//! Delivery: records that fail with a retryable error go back to the front of the buffer, in
//! their order, and are sent again after a backoff; records that succeeded are never resent;
//! terminal errors settle at once; a record still undelivered `recordTtlMs` after it was
//! accepted settles as `Expired`. Aggregation (optional) packs user records into KPL aggregated
//! records when a request is built, grouped so each aggregate lands on one shard.
//!
//! The host's loop: `put` records; call `poll_transmit` until it gives nothing, signing
//! (`sign`) and sending each request; hand back answers (`handle_answer`,
//! `handle_network_error`) and credentials; drain `poll_event`; wake at `poll_timeout` and call
//! `poll_transmit` again (every call given the time acts on the time that has passed).

use std::collections::VecDeque;
use std::rc::Rc;

#[cfg(feature = "metrics")]
use crate::core::cloudwatch;
use crate::core::engine::credentials::CredentialState;
use crate::core::engine::events::{
    Ack, Answer, Event, Outcome, RecordId, RequestId, Settlement, Transmit,
};
#[cfg(feature = "metrics")]
use crate::core::engine::metrics::Metric;
use crate::core::engine::metrics::Metrics;
use crate::core::engine::packer::{self, Entry};
use crate::core::engine::queue::{one_per_key, Fit, KeySet, Queue, Queued};
use crate::core::engine::rate_limit::RateLimiter;
use crate::core::engine::retry::Backoff;
use crate::core::engine::shard_grouping::{AggregationMode, Plan, ShardGrouping};
use crate::core::engine::shard_map::ShardMap;
use crate::core::engine::stats::{put_payload_units, CodeCounts, Counters, Latencies, Stats};
use crate::core::engine::stream_settings::{StreamInfo, Verdict};
use crate::core::kinesis::put_records::{self, EntryResult, Framing};
use crate::core::kinesis::request::{Operation, SERVICE};
use crate::core::kinesis::{describe_stream, list_shards};
use crate::core::model::config::{Config, Ordering, WhenFull, DEFAULT_SHARD_MAP_REFRESH_MS};
use crate::core::model::credentials::Credentials;
use crate::core::model::error::{Error, ErrorCode, Failure, RecordError, RetryClass};
use crate::core::model::record::Record;
use crate::core::model::stream::StreamSettings;
use crate::core::sigv4::signer::{self, sha256_hex, SignInput, SignedHeaders, SigningKeyCache};
use crate::core::Millis;

/// A response `Date` this far from the local clock corrects the signing clock even before
/// the service refuses a signature (it allows 5 minutes).
pub const SKEW_TOLERANCE_MS: i64 = 4 * 60_000;

/// How the body of a request to sign is hashed.
#[derive(Clone, Copy, Debug)]
pub enum Payload<'a> {
    /// The host's digest of the body it holds: lower-case hex SHA-256.
    Sha256Hex(&'a str),
    /// The body itself, hashed here (where the host has no digest it can wait for).
    Body(&'a [u8]),
}

/// `headers` followed by the signature's: what a signed request sends.
fn with_signature(
    headers: &[(&'static str, &'static str)],
    signed: &SignedHeaders,
) -> Vec<(&'static str, String)> {
    let mut out: Vec<(&'static str, String)> =
        headers.iter().map(|&(n, v)| (n, v.to_owned())).collect();
    out.extend(signed.pairs().into_iter().map(|(n, v)| (n, v.to_owned())));
    out
}

#[derive(Debug)]
struct InFlight {
    id: RequestId,
    operation: Operation,
    sent_at: Millis,
    /// No answer by then: the request is aborted and its records retried.
    deadline: Millis,
    /// Bound when the request was built: a later refresh must not strand it.
    credentials: Credentials,
    /// `PutRecords`: the user records, in body order.
    records: Vec<Queued>,
    /// The Kinesis records that carry them when aggregated; `None`: one each.
    entries: Option<Vec<Entry>>,
    /// The shard map the request was packed with.
    map_generation: u32,
}

/// Records accepted and not yet settled: the buffer bounds count these.
#[derive(Debug, Default)]
struct Unsettled {
    records: usize,
    bytes: usize,
}

#[derive(Debug, Default)]
struct Tally {
    counters: Counters,
    failures_by_code: CodeCounts,
    latencies: Latencies,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lifecycle {
    Open,
    /// `close()` was called; at `deadline` whatever is left settles as `Closed`.
    Closing {
        deadline: Option<Millis>,
    },
    /// Closed and everything settled (`Event::Closed` given).
    Closed,
}

#[derive(Debug)]
pub struct Producer {
    config: Config,
    framing: Framing,
    queue: Queue,
    /// Records put while the buffer was full (`onBufferFull: 'wait'`), in order.
    waiting: VecDeque<Queued>,
    unsettled: Unsettled,
    in_flight: Vec<InFlight>,
    /// Per-key ordering: keys with a record in flight.
    busy_keys: KeySet,
    grouping: Option<ShardGrouping>,
    /// `rateLimit`: per-shard buckets (the map comes from `grouping`).
    limiter: Option<RateLimiter>,
    stream: StreamInfo,
    backoff: Backoff,
    credentials: CredentialState,
    /// Server clock minus local clock, learnt from answers; added to the signing time.
    clock_offset_ms: i64,
    signing_keys: SigningKeyCache,
    next_record_id: RecordId,
    next_request_id: RequestId,
    /// Records with smaller ids were put before the last flush and wait no longer.
    flush_below: RecordId,
    lifecycle: Lifecycle,
    /// The first `close()`'s deadline, kept after it passed (the metrics' last upload keeps to it).
    #[cfg(feature = "metrics")]
    close_deadline: Option<Option<Millis>>,
    tally: Tally,
    /// CloudWatch metrics of the current interval (`take_metrics`).
    metrics: Metrics,
    events: VecDeque<Event>,
}

impl Producer {
    /// `seed` seeds the backoff jitter (the host's randomness; fixed in tests).
    pub fn new(config: Config, seed: u64) -> Self {
        // The rate limiter needs the shard map even when records are not aggregated.
        let mut grouping = config.aggregation.map(ShardGrouping::new).or_else(|| {
            config
                .rate_limit
                .map(|_| ShardGrouping::map_only(DEFAULT_SHARD_MAP_REFRESH_MS))
        });
        if let (Some(g), Some(given)) = (&mut grouping, config.stream_settings) {
            g.set_auto_distribution(given.auto_distribution);
        }
        Self {
            framing: Framing::new(&config.target),
            queue: Queue::default(),
            waiting: VecDeque::new(),
            unsettled: Unsettled::default(),
            in_flight: Vec::new(),
            busy_keys: KeySet::default(),
            grouping,
            limiter: config.rate_limit.map(RateLimiter::new),
            stream: StreamInfo::new(
                config.stream_settings,
                config.aggregation.map(|a| a.shard_map_refresh_ms),
            ),
            backoff: Backoff::new(seed),
            credentials: CredentialState::new(&config.credentials),
            clock_offset_ms: 0,
            signing_keys: SigningKeyCache::default(),
            next_record_id: 0,
            next_request_id: 0,
            flush_below: 0,
            lifecycle: Lifecycle::Open,
            #[cfg(feature = "metrics")]
            close_deadline: None,
            tally: Tally::default(),
            metrics: Metrics::of(&config),
            events: VecDeque::new(),
            config,
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    // ---- records in ----

    /// Validate and take a record; it waits for room when the buffer is full and `onBufferFull`
    /// is `'wait'`. A refused record changes nothing.
    pub fn put(&mut self, record: Record, now: Millis) -> Result<RecordId, Error> {
        if self.lifecycle != Lifecycle::Open {
            return Err(Error::Closed);
        }
        let limit = self.stream.record_limit(&self.config.limits);
        record.validate(
            limit.min(self.config.max_buffered_bytes),
            self.stream.keys_optional(),
        )?;
        if record.size() > self.config.limits.max_request_bytes {
            return Err(RecordError::TooLargeForRequest {
                size: record.size(),
                limit: self.config.limits.max_request_bytes,
            }
            .into());
        }
        let encoded_len = put_records::entry_len(&record);
        let queued = Queued {
            id: self.next_record_id,
            record,
            encoded_len,
            accepted_at: now,
            attempts: 0,
            last_failure: None,
        };
        if !self.waiting.is_empty() || !self.has_room_for(&queued) {
            if self.config.when_full == WhenFull::Reject {
                return Err(Error::BufferFull {
                    records: self.unsettled.records,
                    bytes: self.unsettled.bytes,
                    max_records: self.config.max_buffered_records,
                    max_bytes: self.config.max_buffered_bytes,
                });
            }
            self.waiting.push_back(queued);
        } else {
            self.admit(queued, now);
        }
        self.next_record_id += 1;
        Ok(self.next_record_id - 1)
    }

    fn has_room_for(&self, q: &Queued) -> bool {
        self.unsettled.records < self.config.max_buffered_records
            && self.unsettled.bytes + q.record.size() <= self.config.max_buffered_bytes
    }

    fn admit(&mut self, mut q: Queued, now: Millis) {
        let size = q.record.size();
        self.unsettled.records += 1;
        self.unsettled.bytes += size;
        self.tally.counters.records_accepted += 1;
        self.tally.counters.bytes_accepted += size as u64;
        self.metrics.received();
        q.accepted_at = now;
        if self
            .limiter
            .as_ref()
            .is_some_and(|l| l.blocked_until().is_some())
        {
            let shard = self
                .limited_map()
                .and_then(|m| m.lookup(q.record.hash_key()));
            let due = now.saturating_add(self.config.linger_ms);
            if let Some(l) = self.limiter.as_mut() {
                l.record_due(shard, due);
            }
        }
        if !self.stream.holds(&q) {
            self.queue.push(q);
            return;
        }
        if self.config.ordering == Ordering::PerKey {
            // Its key's later records wait for it, as for a record in flight.
            self.busy_keys.insert(q.record.partition_key());
        }
        self.stream.hold([q]);
    }

    fn limited_map(&self) -> Option<&ShardMap> {
        limited_map(self.limiter.as_ref(), self.grouping.as_ref())
    }

    /// Settling made room: take waiting records, in order.
    fn admit_waiting(&mut self, now: Millis) {
        while self.waiting.front().is_some_and(|q| self.has_room_for(q)) {
            if let Some(q) = self.waiting.pop_front() {
                self.admit(q, now);
            }
        }
    }

    /// The id the next record put will get.
    pub fn next_record_id(&self) -> RecordId {
        self.next_record_id
    }

    /// Make everything put so far due at once.
    pub fn flush(&mut self) {
        self.flush_below = self.next_record_id;
    }

    /// Refuse new records and send the rest; at `now + timeout_ms` (`None`: never) give up on
    /// whatever is left, which settles as `Closed`.
    pub fn close(&mut self, timeout_ms: Option<u64>, now: Millis) {
        if self.lifecycle == Lifecycle::Open {
            let deadline = timeout_ms.map(|t| now.saturating_add(t));
            self.lifecycle = Lifecycle::Closing { deadline };
            #[cfg(feature = "metrics")]
            {
                self.close_deadline = Some(deadline);
            }
        }
        self.flush();
        self.advance(now);
    }

    /// The host learnt that the network is back (a browser's `online` event).
    pub fn network_restored(&mut self) {
        self.backoff.network_restored();
    }

    // ---- requests out ----

    /// The next request to sign and send, if one is due and the limits allow it. Asks for
    /// credentials (an event) when it has none to sign with.
    pub fn poll_transmit(&mut self, now: Millis) -> Option<Transmit> {
        self.advance(now);
        let transmit = self.next_transmit(now);
        if transmit.is_none() {
            self.credentials.burst_over();
        }
        transmit
    }

    fn next_transmit(&mut self, now: Millis) -> Option<Transmit> {
        let describe_due = self.describe_due_at().is_some_and(|at| at <= now);
        let list_due = self.list_due_at().is_some_and(|at| at <= now);
        let put_due = self.send_at().is_some_and(|at| at <= now);
        if !describe_due && !list_due && !put_due {
            return None;
        }
        let Some(credentials) = self.credentials.for_request(now).cloned() else {
            if self.credentials.ask(now) {
                self.events.push_back(Event::CredentialsWanted);
            }
            return None;
        };
        // The stream's settings and aggregation's ListShards calls go first: they decide how
        // the next batch is grouped.
        if describe_due {
            let id = self.next_request_id;
            let waiting = !self.queue.is_empty();
            if let Some(body) = self.stream.body(&self.config.target, id, waiting, now) {
                let operation = Operation::DescribeStreamSummary;
                self.start(id, operation, credentials, Vec::new(), None, now);
                return Some(Transmit {
                    id,
                    operation,
                    body,
                });
            }
        }
        if list_due {
            let id = self.next_request_id;
            let waiting = !self.queue.is_empty();
            if let Some(body) = self
                .grouping
                .as_mut()
                .and_then(|g| g.list_body(&self.config.target, id, waiting, now))
            {
                self.start(
                    id,
                    Operation::ListShards,
                    credentials,
                    Vec::new(),
                    None,
                    now,
                );
                return Some(Transmit {
                    id,
                    operation: Operation::ListShards,
                    body,
                });
            }
        }
        if !put_due {
            return None;
        }
        self.take_request(usize::MAX, true, credentials, now)
    }

    /// A request for a page that is going away (`pagehide`, hidden): sent at once whatever the
    /// linger, backoff and in-flight limit, signed with credentials held now (no time to ask),
    /// its body at most `max_body` bytes (the browser's keepalive budget). `None` when nothing is
    /// buffered or the oldest record does not fit; records wait for a shard map no longer.
    pub fn poll_unload_transmit(&mut self, now: Millis, max_body: usize) -> Option<Transmit> {
        let credentials = self.credentials.unexpired(now)?.clone();
        let front = self.queue.front()?;
        if self.framing.body_len(1, front.encoded_len) > max_body {
            return None;
        }
        self.take_request(max_body, false, credentials, now)
    }

    /// Take the next batch (packing it when aggregating) and build its request.
    fn take_request(
        &mut self,
        max_body: usize,
        limited: bool,
        credentials: Credentials,
        now: Millis,
    ) -> Option<Transmit> {
        let fit = Fit {
            framing: &self.framing,
            max_records: self.config.limits.max_records_per_request,
            max_payload: self.config.limits.max_request_bytes,
            max_body,
        };
        let per_key = self.config.ordering == Ordering::PerKey;
        let generation = self.grouping.as_ref().map_or(0, ShardGrouping::generation);
        // Fields, not `self.plan()` and friends: the queue is taken from below.
        let plan = self
            .grouping
            .as_ref()
            .map_or(Plan::Plain, ShardGrouping::plan);
        // The rate limiter needs the shard map; records of unknown shards are not limited, and
        // neither is a page going away or a stream that places records itself.
        let map = limited_map(self.limiter.as_ref(), self.grouping.as_ref())
            .filter(|_| limited && !self.stream.auto_distribution());
        let mut limiter = self.limiter.as_mut().zip(map).map(|(l, m)| {
            l.for_map(generation, m.len(), now);
            l
        });
        // Each shard that refuses a record refuses the rest of this request's records too, so a
        // shard's records keep their order and a large one is not starved by smaller ones.
        let mut held: Vec<(usize, usize)> = Vec::new();
        let mut charge = |shard: usize, records: f64, bytes: usize| {
            let Some(l) = limiter.as_deref_mut() else {
                return true;
            };
            if held.iter().any(|&(s, _)| s == shard) {
                return false;
            }
            let taken = l.try_take(shard, records, bytes, now);
            if !taken {
                held.push((shard, bytes));
            }
            taken
        };
        let (records, entries, body) = match plan {
            Plan::Plain | Plan::Wait => {
                let (records, body_len) = if per_key || map.is_some() {
                    let mut free_key = per_key.then(|| one_per_key(&self.busy_keys));
                    self.queue.take_where(&fit, |q| {
                        if free_key.as_mut().is_some_and(|free| !free(q)) {
                            return false;
                        }
                        map.and_then(|m| m.lookup(q.record.hash_key()))
                            .is_none_or(|shard| charge(shard, 1.0, q.record.size()))
                    })
                } else {
                    self.queue.take(&fit)
                };
                let body = fit
                    .framing
                    .write(records.iter().map(|q| &q.record), body_len);
                (records, None, body)
            }
            Plan::Pack(grouping) => {
                // Never over the stream's own record limit (it may be below `maxBytes`).
                let max_bytes = self
                    .config
                    .aggregation
                    .map_or(0, |a| a.max_bytes)
                    .min(self.stream.record_limit(&self.config.limits));
                let busy = per_key.then_some(&self.busy_keys);
                let limit: Option<&mut dyn FnMut(usize, f64, usize) -> bool> =
                    map.is_some().then_some(&mut charge);
                let packed = packer::pack(&mut self.queue, &fit, max_bytes, grouping, busy, limit);
                let body = fit.framing.write(&packed.records, packed.body_len);
                (packed.members, Some(packed.entries), body)
            }
        };
        if let Some(l) = self.limiter.as_mut().filter(|_| map.is_some()) {
            // Wait only when nothing could go: shards at their rate hold every record left.
            if records.is_empty() {
                l.block(&held, now);
            } else {
                l.unblock();
            }
        }
        if records.is_empty() {
            return None;
        }
        if per_key {
            for q in &records {
                self.busy_keys.insert(q.record.partition_key());
            }
        }
        let c = &mut self.tally.counters;
        c.requests += 1;
        c.records_sent += records.len() as u64;
        c.kinesis_records_sent += entries.as_ref().map_or(records.len(), Vec::len) as u64;
        c.bytes_sent += records.iter().map(|q| q.record.size() as u64).sum::<u64>();
        self.metrics.sent(&records, entries.as_deref(), now);
        let id = self.next_request_id;
        self.start(
            id,
            Operation::PutRecords,
            credentials,
            records,
            entries,
            now,
        );
        if let Some(flight) = self.in_flight.last_mut() {
            flight.map_generation = generation;
        }
        Some(Transmit {
            id,
            operation: Operation::PutRecords,
            body,
        })
    }

    fn start(
        &mut self,
        id: RequestId,
        operation: Operation,
        credentials: Credentials,
        records: Vec<Queued>,
        entries: Option<Vec<Entry>>,
        now: Millis,
    ) {
        self.next_request_id += 1;
        self.in_flight.push(InFlight {
            id,
            operation,
            sent_at: now,
            deadline: now.saturating_add(self.config.request_timeout_ms),
            credentials,
            records,
            entries,
            map_generation: 0,
        });
    }

    /// The headers that make request `id` signed and sendable: content type, operation, date,
    /// authorization and session token. `None` when it must not be sent after all (it timed out
    /// or was given up on at a `close()` deadline, or could not be signed: then its records are
    /// retried or settled, as events tell).
    pub fn sign(
        &mut self,
        id: RequestId,
        payload: Payload<'_>,
        now: Millis,
    ) -> Option<Vec<(&'static str, String)>> {
        let flight = self.in_flight.iter().find(|f| f.id == id)?;
        let hash = match payload {
            Payload::Sha256Hex(hex) => hex.to_owned(),
            Payload::Body(body) => sha256_hex(body),
        };
        let headers = flight.operation.headers();
        let url = self.config.endpoint.url();
        let signed = signer::sign(
            &SignInput {
                method: "POST",
                url: &url,
                headers: &headers,
                payload_sha256_hex: &hash,
                region: &self.config.region,
                service: SERVICE,
                time_ms: now.saturating_add_signed(self.clock_offset_ms),
            },
            &flight.credentials,
            &mut self.signing_keys,
        );
        match signed {
            Ok(signed) => Some(with_signature(&headers, &signed)),
            Err(e) => {
                self.fail_request(id, e.to_failure(), now);
                None
            }
        }
    }

    #[cfg(feature = "metrics")]
    /// `close()`'s deadline: `None` before it was called, `Some(None)` when it has none.
    pub fn close_deadline(&self) -> Option<Option<Millis>> {
        self.close_deadline
    }

    #[cfg(feature = "metrics")]
    /// Whether `sign_metrics` has credentials to sign with now. When not, the credentials
    /// function is asked (an event), as for a request: an idle producer's metrics would
    /// otherwise wait for ever once its credentials expired.
    pub fn can_sign(&mut self, now: Millis) -> bool {
        if self.credentials.unexpired(now).is_some() {
            return true;
        }
        if self.credentials.ask(now) {
            self.events.push_back(Event::CredentialsWanted);
        }
        false
    }

    #[cfg(feature = "metrics")]
    /// The headers that make a `PutMetricData` call with this body sendable, signed with the
    /// producer's credentials; `None` while it has none (they are asked for, as `can_sign`).
    pub fn sign_metrics(
        &mut self,
        body: &[u8],
        now: Millis,
    ) -> Option<Vec<(&'static str, String)>> {
        if !self.can_sign(now) {
            return None;
        }
        let url = self.config.metrics.as_ref()?.endpoint.url();
        let headers = [("content-type", cloudwatch::CONTENT_TYPE)];
        let signed = signer::sign(
            &SignInput {
                method: "POST",
                url: &url,
                headers: &headers,
                payload_sha256_hex: &sha256_hex(body),
                region: &self.config.region,
                service: cloudwatch::SERVICE,
                time_ms: now.saturating_add_signed(self.clock_offset_ms),
            },
            self.credentials.unexpired(now)?,
            &mut self.signing_keys,
        );
        signed.ok().map(|signed| with_signature(&headers, &signed))
    }

    #[cfg(feature = "metrics")]
    /// The metrics gathered since the last call, and (`sample`: when an interval ends) a sample
    /// of the records not yet settled (`UserRecordsPending`).
    pub fn take_metrics(&mut self, sample: bool) -> Metrics {
        if sample {
            let pending = self.unsettled.records + self.waiting.len();
            self.metrics
                .add(Metric::UserRecordsPending, None, pending as u64);
        }
        let fresh = Metrics::of(&self.config);
        std::mem::replace(&mut self.metrics, fresh)
    }

    // ---- answers in ----

    /// Hand back the service's answer to request `id`.
    pub fn handle_answer(&mut self, id: RequestId, answer: Answer<'_>, now: Millis) {
        let Some(flight) = self.take_flight(id) else {
            return;
        };
        self.tally
            .latencies
            .record(now.saturating_sub(flight.sent_at));
        if flight.operation == Operation::ListShards {
            let page = list_shards::read_answer(answer.status, answer.error_type, answer.body);
            self.learn_clock(&answer, page.as_ref().err(), now);
            self.on_list_answer(page, now);
        } else if flight.operation == Operation::DescribeStreamSummary {
            let settings =
                describe_stream::read_answer(answer.status, answer.error_type, answer.body);
            self.learn_clock(&answer, settings.as_ref().err(), now);
            self.on_describe_answer(settings, now);
        } else {
            let elapsed = now.saturating_sub(flight.sent_at);
            self.metrics.request_time(elapsed);
            let expected = flight
                .entries
                .as_ref()
                .map_or(flight.records.len(), Vec::len);
            let results =
                put_records::read_answer(answer.status, answer.error_type, answer.body, expected);
            self.learn_clock(&answer, results.as_ref().err(), now);
            match results {
                Err(failure) => self.fail_whole(flight, failure, now),
                Ok(results) => {
                    let outcomes = self.per_record(flight, results);
                    self.conclude(outcomes, false, now);
                }
            }
        }
        self.advance(now);
    }

    /// Request `id` got no answer: the host's transport failed (no connection, reset, CORS).
    pub fn handle_network_error(&mut self, id: RequestId, message: &str, now: Millis) {
        let failure =
            Failure::transport(ErrorCode::Network, format!("the request failed: {message}"));
        self.fail_request(id, failure, now);
    }

    fn fail_request(&mut self, id: RequestId, failure: Failure, now: Millis) {
        self.fail_flight(id, failure, now);
        self.advance(now);
    }

    fn fail_flight(&mut self, id: RequestId, failure: Failure, now: Millis) {
        let Some(flight) = self.take_flight(id) else {
            return;
        };
        match flight.operation {
            Operation::ListShards => self.on_list_answer(Err(failure), now),
            Operation::DescribeStreamSummary => self.on_describe_answer(Err(failure), now),
            _ => self.fail_whole(flight, failure, now),
        }
    }

    /// The credentials provider answered with these credentials.
    pub fn set_credentials(&mut self, credentials: Credentials) {
        self.credentials.answered(credentials);
    }

    /// The credentials provider failed (threw, or answered something unusable): asked again
    /// after a backoff; records that cannot be sent meanwhile settle at their time to live as
    /// `Credentials`.
    pub fn credentials_failed(&mut self, error: &Error, now: Millis) {
        self.provider_failed(error, now);
        self.advance(now);
    }

    fn provider_failed(&mut self, error: &Error, now: Millis) {
        let failure = Failure {
            retry: RetryClass::Transient,
            ..Error::Credentials(match error {
                Error::Credentials(why) => why.clone(),
                other => other.to_string(),
            })
            .to_failure()
        };
        self.credentials.failed(failure);
        self.tally.failures_by_code.add(ErrorCode::Credentials);
        self.backoff.retry(RetryClass::Transient, true, false, now);
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
        flight: InFlight,
        results: Vec<EntryResult>,
    ) -> Vec<(Queued, Result<Ack, Rc<Failure>>)> {
        let InFlight {
            records,
            entries,
            map_generation,
            ..
        } = flight;
        let Some(entries) = entries else {
            return records
                .into_iter()
                .zip(results)
                .map(|(q, r)| {
                    let result = match r {
                        Ok(stored) => {
                            self.count_kinesis_ack(q.record.size(), &stored.shard_id);
                            Ok(Ack {
                                sequence_number: stored.sequence_number,
                                shard_id: stored.shard_id,
                                sub_sequence_number: None,
                            })
                        }
                        Err(f) => {
                            self.metrics.kinesis_record(q.record.size(), None);
                            Err(Rc::new(f))
                        }
                    };
                    (q, result)
                })
                .collect();
        };
        let mut outcomes = Vec::with_capacity(records.len());
        let mut members = records.into_iter();
        for (entry, result) in entries.into_iter().zip(results) {
            let carried = members.by_ref().take(entry.len);
            let stored = match result {
                Ok(stored) => stored,
                Err(f) => {
                    self.metrics.kinesis_record(entry.size, None);
                    let f = Rc::new(f);
                    outcomes.extend(carried.map(|q| (q, Err(Rc::clone(&f)))));
                    continue;
                }
            };
            self.count_kinesis_ack(entry.size, &stored.shard_id);
            let numbered = carried.enumerate().map(|(i, q)| {
                let ack = Ack {
                    sequence_number: Rc::clone(&stored.sequence_number),
                    shard_id: Rc::clone(&stored.shard_id),
                    sub_sequence_number: (entry.len > 1).then_some(i as u32),
                };
                (q, ack)
            });
            match (&entry.shard, self.grouping.as_mut()) {
                (Some(expected), Some(grouping)) if *expected != stored.shard_id => {
                    let held: Vec<_> = numbered.collect();
                    if self.config.ordering == Ordering::PerKey {
                        // Their keys stay busy until the check settles them.
                        for (q, _) in &held {
                            self.busy_keys.insert(q.record.partition_key());
                        }
                    }
                    grouping.misplaced(stored.shard_id, map_generation, held);
                }
                _ => outcomes.extend(numbered.map(|(q, a)| (q, Ok(a)))),
            }
        }
        outcomes
    }

    fn count_kinesis_ack(&mut self, size: usize, shard: &Rc<str>) {
        self.metrics.kinesis_record(size, Some(shard));
        self.tally.counters.kinesis_records_acknowledged += 1;
        self.tally.counters.put_payload_units += put_payload_units(size);
    }

    /// A `ListShards` answer (or failure): settle or resend the records held for the check.
    fn on_list_answer(&mut self, page: Result<list_shards::Page, Failure>, now: Millis) {
        if matches!(&page, Err(f) if f.code == ErrorCode::ExpiredCredentials) {
            self.credentials.invalidate();
        }
        let Some(grouping) = self.grouping.as_mut() else {
            return;
        };
        let verdict = grouping.on_list_answer(page, now);
        if self.config.ordering == Ordering::PerKey {
            let keys = verdict.acked.iter().map(|(q, _)| q).chain(&verdict.resend);
            for q in keys {
                self.busy_keys.remove(q.record.partition_key());
            }
        }
        self.queue.requeue(verdict.resend);
        for (q, ack) in verdict.acked {
            self.settle(q, Outcome::Acked(ack));
        }
        self.admit_waiting(now);
    }

    /// A `DescribeStreamSummary` answer (or failure): aggregation learns of `AUTO`, records
    /// held for the stream's limit or for its creation are sent or refused, and a stream that
    /// is gone settles everything buffered as `NotFound` at once.
    fn on_describe_answer(&mut self, answer: Result<StreamSettings, Failure>, now: Millis) {
        if matches!(&answer, Err(f) if f.code == ErrorCode::ExpiredCredentials) {
            self.credentials.invalidate();
        }
        let Verdict {
            send,
            refuse,
            missing,
            auto_distribution,
        } = self.stream.on_answer(answer, &self.config.limits, now);
        if let (Some(auto), Some(g)) = (auto_distribution, self.grouping.as_mut()) {
            g.set_auto_distribution(auto);
        }
        if self.config.ordering == Ordering::PerKey {
            let released = send.iter().chain(refuse.iter().map(|(q, _)| q));
            for q in released {
                self.busy_keys.remove(q.record.partition_key());
            }
        }
        for (q, f) in refuse {
            self.settle(q, Outcome::Failed(Rc::new(f)));
        }
        if let Some(f) = missing {
            let f = Rc::new(f);
            while let Some(q) = self.queue.pop_front() {
                self.settle(q, Outcome::Failed(Rc::clone(&f)));
            }
        }
        if auto_distribution == Some(false) {
            // The stream went back to partition keys: records put without one cannot go.
            let failure = Rc::new(Error::from(RecordError::PartitionKeyRequired).to_failure());
            for q in self.queue.take_out(|q| q.record.partition_key().is_empty()) {
                self.settle(q, Outcome::Failed(Rc::clone(&failure)));
            }
        }
        self.queue.requeue(send);
        self.admit_waiting(now);
    }

    fn fail_whole(&mut self, flight: InFlight, failure: Failure, now: Millis) {
        self.tally.counters.requests_failed += 1;
        if failure.code == ErrorCode::NotFound && self.stream.holds_not_found() {
            if self.config.ordering == Ordering::PerKey {
                // `take_flight` freed their keys: they stay busy while the records are held.
                for q in &flight.records {
                    self.busy_keys.insert(q.record.partition_key());
                }
            }
            self.stream.hold(flight.records);
            return;
        }
        let failure = Rc::new(failure);
        let outcomes = flight
            .records
            .into_iter()
            .map(|q| (q, Err(Rc::clone(&failure))))
            .collect();
        self.conclude(outcomes, true, now);
    }

    /// Settle acknowledged and terminally failed records; put retryable ones back, with a backoff.
    /// `whole`: the request failed as a whole, which escalates the backoff and spends quota.
    fn conclude(
        &mut self,
        outcomes: Vec<(Queued, Result<Ack, Rc<Failure>>)>,
        whole: bool,
        now: Millis,
    ) {
        let mut retry = Vec::new();
        let mut class = None;
        for (mut q, result) in outcomes {
            match result {
                Ok(ack) => self.settle(q, Outcome::Acked(ack)),
                Err(f) if !f.retry.is_retryable() => self.settle(q, Outcome::Failed(f)),
                Err(f) => {
                    self.tally.failures_by_code.add(f.code);
                    self.metrics.error(&f);
                    if f.code == ErrorCode::Throttled {
                        self.tally.counters.throttles += 1;
                        self.shard_throttled(&q.record, now);
                    }
                    if f.code == ErrorCode::ExpiredCredentials {
                        self.credentials.invalidate();
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
        match class {
            None => self.backoff.answered(),
            Some(class) => {
                self.tally.counters.retries += retry.len() as u64;
                let unreachable = retry.iter().all(|q| {
                    q.last_failure
                        .as_ref()
                        .is_some_and(|f| f.code == ErrorCode::Network)
                });
                self.backoff.retry(class, whole, unreachable, now);
                self.queue.requeue(retry);
            }
        }
        self.admit_waiting(now);
    }

    /// The service throttled a record: its shard's rate limit adapts.
    fn shard_throttled(&mut self, record: &Record, now: Millis) {
        let shard = self.limited_map().and_then(|m| m.lookup(record.hash_key()));
        if let (Some(limiter), Some(shard)) = (self.limiter.as_mut(), shard) {
            limiter.throttled(shard, now);
        }
    }

    fn settle(&mut self, q: Queued, outcome: Outcome) {
        let size = q.record.size();
        self.unsettled.records -= 1;
        self.unsettled.bytes -= size;
        let c = &mut self.tally.counters;
        if matches!(outcome, Outcome::Acked(_)) {
            c.records_acknowledged += 1;
            c.bytes_acknowledged += size as u64;
        } else {
            c.records_failed += 1;
            c.bytes_failed += size as u64;
        }
        self.metrics.settled(&q, &outcome);
        self.events
            .push_back(Event::Settled(Settlement { id: q.id, outcome }));
    }

    // ---- time ----

    /// Act on the time that has passed (every call that is given the time does): requests and
    /// credential asks past their deadline, records past their time to live, a `close()`
    /// deadline.
    fn advance(&mut self, now: Millis) {
        if let Lifecycle::Closing { deadline: Some(d) } = self.lifecycle {
            if now >= d {
                self.abandon();
            }
        }
        while let Some(flight) = self.in_flight.iter().find(|f| f.deadline <= now) {
            let (id, timeout) = (flight.id, self.config.request_timeout_ms);
            self.events.push_back(Event::Abort(id));
            let failure = Failure::transport(
                ErrorCode::Timeout,
                format!(
                    "no answer within requestTimeoutMs ({timeout} ms); the request was aborted"
                ),
            );
            self.fail_flight(id, failure, now);
        }
        let timeout = self.config.request_timeout_ms;
        if self
            .credentials
            .ask_deadline(timeout)
            .is_some_and(|d| d <= now)
        {
            let why = format!("the credentials provider did not answer within {timeout} ms");
            self.provider_failed(&Error::Credentials(why), now);
        }
        self.expire(now);
        if matches!(self.lifecycle, Lifecycle::Closing { .. }) && self.is_idle() {
            self.lifecycle = Lifecycle::Closed;
            self.events.push_back(Event::Closed);
        }
    }

    /// Settle buffered records whose time to live has run out.
    fn expire(&mut self, now: Millis) {
        let Some(ttl) = self.config.record_ttl_ms else {
            return;
        };
        let held = self.stream.take_expired(now, ttl);
        let mut expired = !held.is_empty();
        for q in held {
            if self.config.ordering == Ordering::PerKey {
                self.busy_keys.remove(q.record.partition_key());
            }
            self.settle_expired(q, ttl);
        }
        while self
            .queue
            .front()
            .is_some_and(|q| q.accepted_at.saturating_add(ttl) <= now)
        {
            if let Some(q) = self.queue.pop_front() {
                self.settle_expired(q, ttl);
                expired = true;
            }
        }
        if expired {
            self.admit_waiting(now);
        }
    }

    fn settle_expired(&mut self, q: Queued, ttl: u64) {
        self.tally.counters.records_expired += 1;
        self.tally.failures_by_code.add(ErrorCode::Expired);
        // A credentials provider that kept failing is the cause the caller must act on.
        let last = q
            .last_failure
            .clone()
            .or_else(|| self.credentials.failure().cloned());
        let last = last.as_deref();
        let code = match last.map(|f| f.code) {
            Some(ErrorCode::Credentials) => ErrorCode::Credentials,
            _ => ErrorCode::Expired,
        };
        let message = match last {
            Some(f) => format!(
                "not delivered within recordTtlMs ({ttl} ms) after {} attempts; last error: {f}",
                q.attempts
            ),
            None => format!("not delivered within recordTtlMs ({ttl} ms)"),
        };
        let failure = Failure {
            aws_code: last.and_then(|f| f.aws_code.clone()),
            status: last.and_then(|f| f.status),
            last_code: last.map(|f| f.code),
            ..Failure::new(code, RetryClass::Terminal, message)
        };
        self.settle(q, Outcome::Failed(Rc::new(failure)));
    }

    /// Give up on every record not yet settled, waiting, buffered or in flight (a `close()`
    /// deadline passed): each settles as `Closed`; requests in flight are to be aborted.
    fn abandon(&mut self) {
        let failure = Rc::new(Failure::new(
            ErrorCode::Closed,
            RetryClass::Terminal,
            "the producer was closed before the record was delivered (close() deadline passed)",
        ));
        self.busy_keys.clear();
        let mut records = Vec::new();
        for flight in std::mem::take(&mut self.in_flight) {
            self.events.push_back(Event::Abort(flight.id));
            records.extend(flight.records);
        }
        if let Some(grouping) = &mut self.grouping {
            records.extend(grouping.take_held());
        }
        records.extend(self.stream.take_held());
        records.extend(std::iter::from_fn(|| self.queue.pop_front()));
        for q in records {
            self.settle(q, Outcome::Failed(Rc::clone(&failure)));
        }
        // Never admitted: they count in no buffer total.
        for q in std::mem::take(&mut self.waiting) {
            self.tally.counters.records_failed += 1;
            self.tally.counters.bytes_failed += q.record.size() as u64;
            self.events.push_back(Event::Settled(Settlement {
                id: q.id,
                outcome: Outcome::Failed(Rc::clone(&failure)),
            }));
        }
        self.lifecycle = Lifecycle::Closing { deadline: None };
    }

    /// When the host should call `poll_transmit` again if nothing else happens:
    /// the next batch's send time (linger, flush, backoff) when one could go, the next
    /// `ListShards` call, the oldest record's expiry, a request's or a credentials ask's
    /// deadline, or the `close()` deadline, whichever comes first.
    pub fn poll_timeout(&self) -> Option<Millis> {
        let timeout = self.config.request_timeout_ms;
        let asking = self.credentials.ask_deadline(timeout);
        // Nothing can be signed while credentials are being asked for: the ask's deadline (or
        // its answer) wakes the host instead.
        let send = self.send_at().filter(|_| asking.is_none());
        let list = self.list_due_at().filter(|_| asking.is_none());
        let describe = self.describe_due_at().filter(|_| asking.is_none());
        let expiry = self.config.record_ttl_ms.and_then(|ttl| {
            let oldest = self.queue.front().map(|q| q.accepted_at);
            [oldest, self.stream.oldest_held()]
                .into_iter()
                .flatten()
                .min()
                .map(|at| at.saturating_add(ttl))
        });
        let close = match self.lifecycle {
            Lifecycle::Closing { deadline } => deadline,
            _ => None,
        };
        [
            send,
            list,
            describe,
            expiry,
            self.in_flight.iter().map(|f| f.deadline).min(),
            asking,
            close,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    // ---- when to send ----

    fn plan(&self) -> Plan<'_> {
        self.grouping
            .as_ref()
            .map_or(Plan::Plain, ShardGrouping::plan)
    }

    /// When aggregation's next `ListShards` may go: when due, and not before the backoff ends
    /// (a failing credentials provider, or a throttled stream, is not asked again sooner).
    fn list_due_at(&self) -> Option<Millis> {
        let waiting = !self.queue.is_empty();
        let due = self.grouping.as_ref()?.list_due_at(waiting)?;
        Some(due.max(self.backoff.paused_until()))
    }

    /// When the next `DescribeStreamSummary` may go: as `list_due_at`.
    fn describe_due_at(&self) -> Option<Millis> {
        let due = self.stream.due_at(!self.queue.is_empty())?;
        Some(due.max(self.backoff.paused_until()))
    }

    /// When the next `PutRecords` may go (`None`: none can until something else happens): when
    /// its batch is due, at once when flushed or full, else once its first record's linger has
    /// passed, and not before the backoff ends.
    fn send_at(&self) -> Option<Millis> {
        let front = self.queue.front()?;
        let puts = self
            .in_flight
            .iter()
            .filter(|f| f.operation == Operation::PutRecords)
            .count();
        let sendable = puts
            < self
                .backoff
                .in_flight_limit(self.config.max_in_flight_requests)
            && !matches!(self.plan(), Plan::Wait)
            // Aggregates wait for the stream's settings (no aggregate may reach an AUTO
            // stream); nothing goes to a stream still being created.
            && (self.config.aggregation.is_none() || self.stream.settled())
            && !self.stream.creating()
            && (self.config.ordering != Ordering::PerKey
                || self.queue.has_key_outside(&self.busy_keys));
        if !sendable {
            return None;
        }
        // Aggregated, 500 user records are far from a full request: only the bytes count.
        let max_records = match self.plan() {
            Plan::Pack(_) => usize::MAX,
            _ => self.config.limits.max_records_per_request,
        };
        let fit = Fit {
            framing: &self.framing,
            max_records,
            max_payload: self.config.limits.max_request_bytes,
            max_body: usize::MAX,
        };
        let due = if front.id < self.flush_below || self.queue.is_full(&fit) {
            0
        } else {
            front.accepted_at.saturating_add(self.config.linger_ms)
        };
        let limited = self.limiter.as_ref().and_then(RateLimiter::blocked_until);
        Some(
            due.max(self.backoff.paused_until())
                .max(limited.unwrap_or(0)),
        )
    }

    fn take_flight(&mut self, id: RequestId) -> Option<InFlight> {
        let index = self.in_flight.iter().position(|f| f.id == id)?;
        let flight = self.in_flight.remove(index);
        if self.config.ordering == Ordering::PerKey {
            for q in &flight.records {
                self.busy_keys.remove(q.record.partition_key());
            }
        }
        Some(flight)
    }

    /// The shard map (aggregation) and when it was listed, for other producers of the stream.
    pub fn shard_map(&self) -> Option<(&ShardMap, Millis)> {
        self.grouping.as_ref()?.map()
    }

    /// Take a shard map another producer of the stream listed at `listed_at` (see
    /// `ShardGrouping::adopt`); `false` when it is stale, or this one has its own.
    pub fn adopt_shard_map(&mut self, map: ShardMap, listed_at: Millis, now: Millis) -> bool {
        self.grouping
            .as_mut()
            .is_some_and(|g| g.adopt(map, listed_at, now))
    }

    // ---- state ----

    /// Nothing waiting, buffered, in flight or held.
    pub fn is_idle(&self) -> bool {
        self.queue.is_empty()
            && self.waiting.is_empty()
            && self.in_flight.is_empty()
            && self.grouping.as_ref().is_none_or(|g| g.held_records() == 0)
            && self.stream.held_records() == 0
    }

    /// The stream's settings as described and when, for other producers of the stream.
    pub fn stream_settings(&self) -> Option<(StreamSettings, Millis)> {
        self.stream.described()
    }

    /// Take settings another producer of the stream was told at `at` (see `StreamInfo::adopt`).
    pub fn adopt_stream_settings(&mut self, settings: StreamSettings, at: Millis, now: Millis) {
        if self.stream.adopt(settings, at, now) {
            if let Some(g) = self.grouping.as_mut() {
                g.set_auto_distribution(settings.auto_distribution);
            }
        }
    }

    pub fn stats(&self, now: Millis) -> Stats {
        let grouping = self.grouping.as_ref();
        Stats {
            counters: self.tally.counters.clone(),
            buffered_records: (self.queue.len() + self.stream.held_records()) as u64,
            buffered_bytes: (self.queue.record_bytes() + self.stream.held_bytes()) as u64,
            in_flight_requests: self
                .in_flight
                .iter()
                .filter(|f| f.operation == Operation::PutRecords)
                .count() as u64,
            in_flight_records: self
                .in_flight
                .iter()
                .map(|f| f.records.len() as u64)
                .sum::<u64>()
                + grouping.map_or(0, |g| g.held_records() as u64),
            waiting_records: self.waiting.len() as u64,
            failures_by_code: self.tally.failures_by_code.clone(),
            current_backoff_ms: self.backoff.remaining(now),
            clock_offset_ms: self.clock_offset_ms,
            latency_p50_ms: self.tally.latencies.percentile(50),
            latency_p99_ms: self.tally.latencies.percentile(99),
            aggregation: grouping.map_or(AggregationMode::Off, ShardGrouping::mode),
            aggregation_note: grouping.and_then(|g| g.note().map(str::to_owned)),
            stream_note: self.stream.note().map(str::to_owned),
            shard_count: grouping.map_or(0, |g| g.shard_count() as u64),
        }
    }
}

/// The shard map the rate limiter works with, when limiting: not on a stream found to place
/// records itself. (Fields, not `&self`: the queue is taken from while it is used.)
fn limited_map<'a>(
    limiter: Option<&RateLimiter>,
    grouping: Option<&'a ShardGrouping>,
) -> Option<&'a ShardMap> {
    limiter?;
    let grouping = grouping?;
    if grouping.mode() == AggregationMode::AutoDistribution {
        return None;
    }
    grouping.map().map(|(m, _)| m)
}

#[cfg(test)]
#[path = "producer_tests.rs"]
pub(crate) mod tests;

#[cfg(test)]
#[path = "aggregation_tests.rs"]
mod aggregation_tests;

#[cfg(test)]
#[path = "stream_settings_tests.rs"]
mod stream_settings_tests;

#[cfg(test)]
#[path = "rate_limit_tests.rs"]
mod rate_limit_tests;

#[cfg(all(test, feature = "metrics"))]
#[path = "metrics_tests.rs"]
mod metrics_tests;
