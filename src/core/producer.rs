//! The producer state machine. It owns the buffered and in-flight records and decides what to
//! send; its caller does the I/O: it asks for the next request, signs and sends it, and hands
//! back the answer, getting the records' settlements in return. Time is always a parameter.

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
    batch_id: BatchId,
    records: Vec<Queued>,
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
}

impl Producer {
    pub fn new(config: ProducerConfig) -> Self {
        Self {
            config,
            batcher: Batcher::default(),
            in_flight: Vec::new(),
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

    /// The id the next accepted record will get.
    pub fn next_record_id(&self) -> RecordId {
        self.next_record_id
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
        self.in_flight.push(InFlight { batch_id, records });
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
        let Some(expected) = self.batch(batch_id).map(|b| b.records.len()) else {
            return Vec::new();
        };
        match response::parse_put_records(status, error_type_header, body, expected) {
            Err(failure) => self.on_failure(batch_id, failure),
            Ok(results) => {
                let Some(batch) = self.take_batch(batch_id) else {
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
        let Some(batch) = self.take_batch(batch_id) else {
            return Vec::new();
        };
        self.stats.requests_failed += 1;
        batch
            .records
            .into_iter()
            .map(|q| self.settle(q, Outcome::Failed(failure.clone())))
            .collect()
    }

    fn batch(&self, batch_id: BatchId) -> Option<&InFlight> {
        self.in_flight.iter().find(|b| b.batch_id == batch_id)
    }

    fn take_batch(&mut self, batch_id: BatchId) -> Option<InFlight> {
        let index = self.in_flight.iter().position(|b| b.batch_id == batch_id)?;
        Some(self.in_flight.remove(index))
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
            in_flight_records: self.in_flight.iter().map(|b| b.records.len() as u64).sum(),
            ..self.stats.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::config::ProducerOptions;
    use crate::core::error::ErrorCode;
    use crate::core::signer::sha256_hex;

    fn producer(max_in_flight: f64) -> Producer {
        Producer::new(
            ProducerConfig::from_options(ProducerOptions {
                region: Some("us-east-1".into()),
                stream_name: Some("readings".into()),
                max_in_flight_requests: Some(max_in_flight),
                ..Default::default()
            })
            .unwrap(),
        )
    }

    fn rec(key: &str) -> Record {
        Record {
            data: b"{\"t\":1}".to_vec(),
            partition_key: key.into(),
            explicit_hash_key: None,
        }
    }

    fn answer(entries: &[&str]) -> Vec<u8> {
        format!(
            "{{\"FailedRecordCount\":0,\"Records\":[{}]}}",
            entries.join(",")
        )
        .into_bytes()
    }

    #[test]
    fn linger_then_send_and_settle_in_order() {
        let mut p = producer(4.0);
        let a = p.put(rec("a"), 1_000).unwrap();
        let b = p.put(rec("b"), 1_010).unwrap();
        assert_eq!(p.wake_at(), Some(1_100));
        assert!(p.next_request(1_099).is_none());
        let req = p.next_request(1_100).unwrap();
        assert_eq!(req.url, "https://kinesis.us-east-1.amazonaws.com/");
        assert!(req
            .headers
            .contains(&("x-amz-target", "Kinesis_20131202.PutRecords")));
        let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
        assert_eq!(body["Records"][1]["PartitionKey"], "b");
        let settled = p.on_response(
            req.batch_id,
            200,
            None,
            &answer(&[
                r#"{"SequenceNumber":"1","ShardId":"shardId-0"}"#,
                r#"{"ErrorCode":"InternalFailure","ErrorMessage":"x"}"#,
            ]),
        );
        assert_eq!(settled.len(), 2);
        assert_eq!(settled[0].id, a);
        assert!(matches!(&settled[0].outcome, Outcome::Acked(ack) if ack.sequence_number == "1"));
        assert_eq!(settled[1].id, b);
        assert!(
            matches!(&settled[1].outcome, Outcome::Failed(f) if f.code == ErrorCode::ServiceUnavailable)
        );
        let s = p.stats();
        assert_eq!(
            (s.records_acknowledged, s.records_failed, s.requests),
            (1, 1, 1)
        );
        assert!(p.is_idle());
    }

    #[test]
    fn whole_request_failure_fails_every_record() {
        let mut p = producer(4.0);
        for k in ["a", "b", "c"] {
            p.put(rec(k), 0).unwrap();
        }
        p.flush();
        let req = p.next_request(0).unwrap();
        let settled = p.on_response(
            req.batch_id,
            400,
            None,
            br#"{"__type":"ResourceNotFoundException","message":"no"}"#,
        );
        assert_eq!(settled.len(), 3);
        assert!(settled
            .iter()
            .all(|s| matches!(&s.outcome, Outcome::Failed(f) if f.code == ErrorCode::NotFound && f.status == Some(400))));
        assert_eq!(p.stats().requests_failed, 1);
        // An answer for a batch that is no longer in flight is ignored.
        assert!(p.on_response(req.batch_id, 200, None, b"{}").is_empty());
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
            None,
            "no timer while the in-flight limit is reached"
        );
        let entries = vec![r#"{"SequenceNumber":"1","ShardId":"s"}"#; 500];
        assert_eq!(
            p.on_response(first.batch_id, 200, None, &answer(&entries))
                .len(),
            500
        );
        assert!(p.next_request(1_000_000).is_some());
    }

    #[test]
    fn refused_records_change_nothing_and_close_refuses() {
        let mut p = producer(4.0);
        p.put(rec("a"), 0).unwrap();
        assert!(p.put(rec(""), 0).is_err());
        assert_eq!(p.stats().records_accepted, 1);
        assert_eq!(p.stats().buffered_records, 1);
        p.close();
        assert_eq!(p.put(rec("b"), 0), Err(Error::Closed));
        // Closing flushes: the buffered record is due at once.
        assert!(p.next_request(0).is_some());
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
}
