//! Typed errors. Every error has a stable [`ErrorCode`] that the JS boundary exposes as
//! `error.code`; messages name the field and the limit but never a secret.

/// Stable, public error codes. Strings are part of the API: never rename one.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// An option given to the producer or to `signRequest` is missing, unknown or out of range.
    InvalidOption,
    /// A record was refused before it was accepted (key, hash key, size).
    InvalidRecord,
    /// The producer was closed; no new records are taken.
    Closed,
    /// Credentials are missing, malformed, or their provider failed.
    Credentials,
    /// The credentials were refused as expired or unknown (`ExpiredTokenException`, ...).
    ExpiredCredentials,
    /// The request could not be signed, or its signature was refused.
    Signing,
    /// The request time was too far from the server's clock.
    ClockSkew,
    /// Throughput exceeded or throttled (`ProvisionedThroughputExceededException`, HTTP 429, ...).
    Throttled,
    /// The service failed or is unavailable (`InternalFailure`, HTTP 5xx, ...).
    ServiceUnavailable,
    /// The request itself failed: no connection, reset, DNS, CORS.
    Network,
    /// The stream does not exist (`ResourceNotFoundException`).
    NotFound,
    /// The caller may not write to the stream (`AccessDeniedException`, ...).
    AccessDenied,
    /// The service refused the request as invalid (`ValidationException`, ...).
    Validation,
    /// The stream's KMS key refused the write (disabled, missing, no access).
    Kms,
    /// The service answered with something that is not a valid answer.
    InvalidResponse,
    /// Any other error answer from the service.
    RequestFailed,
    /// No answer within `requestTimeoutMs`; the request was aborted.
    Timeout,
    /// The record was not delivered within `recordTtlMs`; `lastCode` says why.
    Expired,
    /// `maxBufferedRecords` or `maxBufferedBytes` is reached (with `onBufferFull: 'reject'`).
    BufferFull,
    /// A consumer's aggregated record whose checksum matches but whose body cannot be decoded.
    MalformedAggregate,
}

impl ErrorCode {
    /// Every code, in declaration order (`code as usize` indexes it).
    pub const ALL: [ErrorCode; 20] = [
        Self::InvalidOption,
        Self::InvalidRecord,
        Self::Closed,
        Self::Credentials,
        Self::ExpiredCredentials,
        Self::Signing,
        Self::ClockSkew,
        Self::Throttled,
        Self::ServiceUnavailable,
        Self::Network,
        Self::NotFound,
        Self::AccessDenied,
        Self::Validation,
        Self::Kms,
        Self::InvalidResponse,
        Self::RequestFailed,
        Self::Timeout,
        Self::Expired,
        Self::BufferFull,
        Self::MalformedAggregate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidOption => "InvalidOption",
            Self::InvalidRecord => "InvalidRecord",
            Self::Closed => "Closed",
            Self::Credentials => "Credentials",
            Self::ExpiredCredentials => "ExpiredCredentials",
            Self::Signing => "Signing",
            Self::ClockSkew => "ClockSkew",
            Self::Throttled => "Throttled",
            Self::ServiceUnavailable => "ServiceUnavailable",
            Self::Network => "Network",
            Self::NotFound => "NotFound",
            Self::AccessDenied => "AccessDenied",
            Self::Validation => "Validation",
            Self::Kms => "Kms",
            Self::InvalidResponse => "InvalidResponse",
            Self::RequestFailed => "RequestFailed",
            Self::Timeout => "Timeout",
            Self::Expired => "Expired",
            Self::BufferFull => "BufferFull",
            Self::MalformedAggregate => "MalformedAggregate",
        }
    }

    /// What a copy kept for later (the offline spool) becomes when a record failed this way.
    pub fn spool_fate(self) -> SpoolFate {
        match self {
            Self::InvalidRecord
            | Self::NotFound
            | Self::AccessDenied
            | Self::Validation
            | Self::Kms => SpoolFate::Drop,
            // Refused for a reason about this page's setup (its credentials, a proxy, an answer
            // not understood), not about the record: other credentials or another network, in a
            // later load or back online, may deliver it; this page resending it cannot.
            Self::Signing | Self::RequestFailed => SpoolFate::Later,
            _ => SpoolFate::Retry,
        }
    }
}

/// See [`ErrorCode::spool_fate`]. The numbers are how the boundary hands it to JS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpoolFate {
    /// Not delivered for a passing reason (time, network, throttling, credentials): sent again
    /// soon.
    Retry = 0,
    /// Refused for good: sending it again can never succeed; the copy is dropped.
    Drop = 1,
    /// Kept, but sent again only in a later page load or once the browser is back online.
    Later = 2,
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a failure may be retried.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RetryClass {
    /// Throughput exceeded: retry with the larger throttling backoff.
    Throttling,
    /// Service fault, network error, timeout: retry with the transient backoff.
    Transient,
    /// Credentials were refused as expired or unknown: refresh them, then retry.
    RefreshCredentials,
    /// Signature time outside the server's window: correct the clock offset, then retry.
    ClockSkew,
    /// Retrying cannot help.
    Terminal,
}

impl RetryClass {
    pub fn is_retryable(self) -> bool {
        !matches!(self, Self::Terminal)
    }
}

/// Why a record was refused at `put`.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("partitionKey must be 1 to 256 Unicode characters, got {chars}")]
    PartitionKeyLength { chars: usize },
    #[error("partitionKey is required: the stream places records by partition key (only an AUTO record distribution stream takes records without one)")]
    PartitionKeyRequired,
    #[error("explicitHashKey must be a decimal integer from 0 to 2^128-1 with no leading zeros, got \"{shown}\"")]
    ExplicitHashKey { shown: String },
    #[error("record is {size} bytes (data plus partition key), over maxRecordBytes {limit}")]
    TooLarge { size: usize, limit: usize },
    #[error("record is {size} bytes (data plus partition key), more than fits in a request (maxRequestBytes {limit})")]
    TooLargeForRequest { size: usize, limit: usize },
    #[error("record layout out of range or not UTF-8 text where text is required")]
    Layout,
}

/// A failure of the core, or one reported by the service for a request or a record.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("invalid option `{field}`: {reason}")]
    InvalidOption { field: String, reason: String },
    #[error("invalid record: {0}")]
    InvalidRecord(#[from] RecordError),
    #[error("the producer is closed and takes no new records")]
    Closed,
    #[error("the buffer is full ({records} records, {bytes} bytes not yet delivered; limits maxBufferedRecords {max_records}, maxBufferedBytes {max_bytes})")]
    BufferFull {
        records: usize,
        bytes: usize,
        max_records: usize,
        max_bytes: usize,
    },
    #[error("credentials: {0}")]
    Credentials(String),
    #[error("signing failed: {0}")]
    Signing(String),
    /// What the service (or the transport) said about a request or one record.
    #[error("{0}")]
    Failed(Failure),
}

impl Error {
    pub fn invalid_option(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidOption {
            field: field.into(),
            reason: reason.into(),
        }
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            Self::InvalidOption { .. } => ErrorCode::InvalidOption,
            Self::InvalidRecord(_) => ErrorCode::InvalidRecord,
            Self::Closed => ErrorCode::Closed,
            Self::BufferFull { .. } => ErrorCode::BufferFull,
            Self::Credentials(_) => ErrorCode::Credentials,
            Self::Signing(_) => ErrorCode::Signing,
            Self::Failed(f) => f.code,
        }
    }

    /// The option a refusal is about, for `error.field` in JS.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::InvalidOption { field, .. } => Some(field),
            _ => None,
        }
    }

    /// This error as the failure of a record: what `put`'s promise rejects with.
    pub fn to_failure(&self) -> Failure {
        match self {
            Self::Failed(f) => f.clone(),
            other => Failure::new(other.code(), RetryClass::Terminal, other.to_string()),
        }
    }
}

/// A classified failure of a request or of one record in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub code: ErrorCode,
    pub retry: RetryClass,
    /// The service's own error name (`__type` or `ErrorCode`), when it gave one.
    pub aws_code: Option<String>,
    pub message: String,
    /// HTTP status of the response that carried the failure, when there was one.
    pub status: Option<u16>,
    /// For `Expired`: the code of the last failure before time ran out.
    pub last_code: Option<ErrorCode>,
}

impl Failure {
    pub fn new(code: ErrorCode, retry: RetryClass, message: impl Into<String>) -> Self {
        Self {
            code,
            retry,
            aws_code: None,
            message: message.into(),
            status: None,
            last_code: None,
        }
    }

    /// A request that never reached the service or never got its answer: retried.
    pub fn transport(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::new(code, RetryClass::Transient, message)
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.aws_code, self.status) {
            (Some(aws), Some(status)) => write!(f, "{aws} (HTTP {status}): {}", self.message),
            (Some(aws), None) => write!(f, "{aws}: {}", self.message),
            (None, Some(status)) => write!(f, "HTTP {status}: {}", self.message),
            (None, None) => f.write_str(&self.message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_lists_every_code_at_its_index() {
        for (i, code) in ErrorCode::ALL.iter().enumerate() {
            assert_eq!(*code as usize, i, "{code}");
        }
        let names: std::collections::HashSet<_> =
            ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(names.len(), ErrorCode::ALL.len());
    }

    #[test]
    fn spool_drops_only_what_the_service_refused_for_good() {
        let with = |fate| -> Vec<_> {
            ErrorCode::ALL
                .iter()
                .filter(|c| c.spool_fate() == fate)
                .map(|c| c.as_str())
                .collect()
        };
        assert_eq!(
            with(SpoolFate::Drop),
            [
                "InvalidRecord",
                "NotFound",
                "AccessDenied",
                "Validation",
                "Kms"
            ]
        );
        assert_eq!(with(SpoolFate::Later), ["Signing", "RequestFailed"]);
        assert!(with(SpoolFate::Retry).contains(&"Expired"));
    }
}
