//! The producer state machine. It owns the buffered and in-flight records and decides what to
//! send; its caller does the I/O: it asks for the next request, signs and sends it, and hands
//! back the answer, getting the records' settlements in return. Time is always a parameter.

use std::collections::BTreeMap;

use crate::core::batcher::{Batcher, Queued};
use crate::core::config::ProducerConfig;
use crate::core::credentials::Credentials;
use crate::core::error::{Error, Failure};
use crate::core::record::Record;
use crate::core::request::{self, BatchId, PreparedRequest};
use crate::core::response::{self, Ack};
use crate::core::signer::{self, SignInput, SignedHeaders, SigningKeyCache};
use crate::core::stats::Stats;
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

#[derive(Debug)]
struct InFlight {
    records: Vec<Queued>,
}

#[derive(Debug)]
pub struct Producer {
    config: ProducerConfig,
    batcher: Batcher,
    in_flight: BTreeMap<BatchId, InFlight>,
    next_record_id: RecordId,
    next_batch_id: BatchId,
    /// Records with smaller ids were accepted before the last flush and wait no longer.
    flush_below: RecordId,
    closed: bool,
    stats: Stats,
    signing_keys: SigningKeyCache,
}

impl Producer {
    pub fn new(config: ProducerConfig) -> Self {
        Self {
            config,
            batcher: Batcher::default(),
            in_flight: BTreeMap::new(),
            next_record_id: 0,
            next_batch_id: 0,
            flush_below: 0,
            closed: false,
            stats: Stats::default(),
            signing_keys: SigningKeyCache::default(),
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
        let id = self.next_record_id;
        self.next_record_id += 1;
        self.stats.records_accepted += 1;
        self.stats.bytes_accepted += record.size() as u64;
        self.batcher.push(Queued {
            id,
            record,
            encoded_len,
            accepted_at: now,
        });
        Ok(id)
    }

    /// Make everything accepted so far due at once.
    pub fn flush(&mut self) {
        self.flush_below = self.next_record_id;
    }

    /// Refuse new records and flush the rest.
    pub fn close(&mut self) {
        self.closed = true;
        self.flush();
    }

    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Nothing buffered and nothing in flight.
    pub fn is_idle(&self) -> bool {
        self.batcher.is_empty() && self.in_flight.is_empty()
    }

    /// When the caller should next call [`Producer::next_request`] if nothing else happens.
    /// `None` while the in-flight limit is reached: an answer arriving is the next event.
    pub fn wake_at(&self) -> Option<Millis> {
        if self.in_flight.len() >= self.config.max_in_flight_requests {
            return None;
        }
        self.batcher.deadline(self.config.linger_ms)
    }

    /// The next request to send, if one is due and the in-flight limit allows it.
    pub fn next_request(&mut self, now: Millis) -> Option<PreparedRequest> {
        if self.in_flight.len() >= self.config.max_in_flight_requests
            || !self.batcher.is_due(
                now,
                self.config.linger_ms,
                &self.config.limits,
                self.flush_below,
            )
        {
            return None;
        }
        let (records, body_len) = self.batcher.take(&self.config.limits);
        let batch_id = self.next_batch_id;
        self.next_batch_id += 1;
        let request = request::put_records(
            batch_id,
            &self.config,
            records.iter().map(|q| &q.record),
            body_len,
        );
        self.stats.requests += 1;
        self.stats.records_sent += records.len() as u64;
        self.stats.bytes_sent += records.iter().map(|q| q.record.size() as u64).sum::<u64>();
        self.in_flight.insert(batch_id, InFlight { records });
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
                time_ms: now,
            },
            credentials,
            &mut self.signing_keys,
        )
    }

    /// Hand back the service's answer to a request.
    pub fn on_response(
        &mut self,
        batch_id: BatchId,
        status: u16,
        error_type_header: Option<&str>,
        body: &[u8],
    ) -> Vec<Settlement> {
        let Some(expected) = self.in_flight.get(&batch_id).map(|b| b.records.len()) else {
            return Vec::new();
        };
        match response::parse_put_records(status, error_type_header, body, expected) {
            Err(failure) => self.on_failure(batch_id, failure),
            Ok(results) => {
                let Some(batch) = self.in_flight.remove(&batch_id) else {
                    return Vec::new();
                };
                batch
                    .records
                    .into_iter()
                    .zip(results)
                    .map(|(q, result)| {
                        self.settle(q, result.map_or_else(Outcome::Failed, Outcome::Acked))
                    })
                    .collect()
            }
        }
    }

    /// The request failed as a whole: it was not sent, not signed, or got no usable answer.
    pub fn on_failure(&mut self, batch_id: BatchId, failure: Failure) -> Vec<Settlement> {
        let Some(batch) = self.in_flight.remove(&batch_id) else {
            return Vec::new();
        };
        self.stats.requests_failed += 1;
        batch
            .records
            .into_iter()
            .map(|q| self.settle(q, Outcome::Failed(failure.clone())))
            .collect()
    }

    fn settle(&mut self, q: Queued, outcome: Outcome) -> Settlement {
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

    pub fn stats(&self) -> Stats {
        Stats {
            buffered_records: self.batcher.len() as u64,
            buffered_bytes: self.batcher.record_bytes() as u64,
            in_flight_requests: self.in_flight.len() as u64,
            in_flight_records: self
                .in_flight
                .values()
                .map(|b| b.records.len() as u64)
                .sum(),
            ..self.stats.clone()
        }
    }
}
