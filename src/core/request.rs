//! Requests to Kinesis (`PutRecords`, and `ListShards` for aggregation): URL, headers and body,
//! ready to hash and sign.

use crate::core::body;
use crate::core::config::ProducerConfig;
use crate::core::record::Record;

pub const CONTENT_TYPE: &str = "application/x-amz-json-1.1";
pub const PUT_RECORDS_TARGET: &str = "Kinesis_20131202.PutRecords";
pub const SERVICE: &str = "kinesis";

/// Identifies a request until its answer is handed back.
pub type BatchId = u64;

#[derive(Clone, PartialEq, Eq)]
pub struct PreparedRequest {
    pub batch_id: BatchId,
    pub url: String,
    /// Headers to send and sign (lower-case names); `host` comes from the URL.
    pub headers: Vec<(&'static str, &'static str)>,
    pub body: Vec<u8>,
}

impl std::fmt::Debug for PreparedRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedRequest")
            .field("batch_id", &self.batch_id)
            .field("url", &self.url)
            .field("headers", &self.headers)
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// Build the request for `records`, whose body is `body_len` bytes.
pub fn put_records<'a>(
    batch_id: BatchId,
    config: &ProducerConfig,
    records: impl IntoIterator<Item = &'a Record>,
    body_len: usize,
) -> PreparedRequest {
    prepared(
        batch_id,
        config,
        PUT_RECORDS_TARGET,
        body::write_body(&config.target, records, body_len),
    )
}

/// A request for the operation `target` (`Kinesis_20131202.<Operation>`) with `body`.
pub fn prepared(
    batch_id: BatchId,
    config: &ProducerConfig,
    target: &'static str,
    body: Vec<u8>,
) -> PreparedRequest {
    PreparedRequest {
        batch_id,
        url: config.endpoint.url(),
        headers: vec![("content-type", CONTENT_TYPE), ("x-amz-target", target)],
        body,
    }
}
