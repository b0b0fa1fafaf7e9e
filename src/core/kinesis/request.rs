//! What every Kinesis request shares: the service name signed for, the content type and the
//! operation header.

pub const SERVICE: &str = "kinesis";
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

/// The operations the producer calls.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    PutRecords,
    ListShards,
    DescribeStreamSummary,
}

impl Operation {
    /// The `X-Amz-Target` header value.
    pub fn target(self) -> &'static str {
        match self {
            Self::PutRecords => "Kinesis_20131202.PutRecords",
            Self::ListShards => "Kinesis_20131202.ListShards",
            Self::DescribeStreamSummary => "Kinesis_20131202.DescribeStreamSummary",
        }
    }

    /// The headers to send and sign besides `host` and the signer's own (lower-case names).
    pub fn headers(self) -> [(&'static str, &'static str); 2] {
        [
            ("content-type", CONTENT_TYPE),
            ("x-amz-target", self.target()),
        ]
    }
}
