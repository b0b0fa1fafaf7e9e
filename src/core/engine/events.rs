//! What the producer gives its host: requests to send, and events (records settled, credentials
//! wanted, requests to abort, closed).

use std::rc::Rc;

use crate::core::kinesis::request::Operation;
use crate::core::model::error::Failure;

/// Identifies an accepted record until it settles. Ids increase in `put` order.
pub type RecordId = u64;

/// Identifies a request until its answer is handed back.
pub type RequestId = u64;

/// Where a record was stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ack {
    pub sequence_number: Rc<str>,
    pub shard_id: Rc<str>,
    /// The record's index inside the aggregated Kinesis record that carried it.
    pub sub_sequence_number: Option<u32>,
}

#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Acked(Ack),
    /// Shared by the records that failed together.
    Failed(Rc<Failure>),
}

/// The final result of one record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settlement {
    pub id: RecordId,
    pub outcome: Outcome,
}

#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A record settled: stored, or failed for good.
    Settled(Settlement),
    /// Call the credentials provider, then hand its answer to `set_credentials` (or its failure
    /// to `credentials_failed`).
    CredentialsWanted,
    /// Stop this request (it timed out, or a `close()` deadline gave up on it); an answer that
    /// still comes is ignored.
    Abort(RequestId),
    /// `close()` has finished: every record has settled.
    Closed,
}

/// A request to sign (`Producer::sign`) and send.
#[derive(Clone, PartialEq, Eq)]
pub struct Transmit {
    pub id: RequestId,
    pub operation: Operation,
    pub body: Vec<u8>,
}

impl std::fmt::Debug for Transmit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transmit")
            .field("id", &self.id)
            .field("operation", &self.operation)
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// What came back for a request.
#[derive(Clone, Copy, Debug)]
pub struct Answer<'a> {
    pub status: u16,
    /// The `x-amzn-ErrorType` header.
    pub error_type: Option<&'a str>,
    /// The `Date` header, as epoch milliseconds.
    pub date_ms: Option<u64>,
    pub body: &'a [u8],
}
