//! Typed errors. Every error has a stable [`ErrorCode`] that the JS boundary exposes as
//! `error.code`; messages name the field and the limit but never a secret.

use crate::core::classify::RetryClass;

/// Stable, public error codes. Strings are part of the API: never rename one.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// An option given to the producer or to `signRequest` is missing or out of range.
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
    /// `fetch` itself failed: no connection, reset, DNS, CORS.
    Network,
    /// The stream does not exist (`ResourceNotFoundException`).
    NotFound,
    /// The caller may not write to the stream (`AccessDeniedException`, ...).
    AccessDenied,
    /// The service refused the request as invalid (`ValidationException`, ...).
    Validation,
    /// The stream's KMS key refused the write (disabled, missing, no access).
    Kms,
    /// The service answered with something that is not a valid `PutRecords` response.
    InvalidResponse,
    /// Any other error answer from the service.
    RequestFailed,
    /// No answer within `requestTimeoutMs`; the request was aborted.
    Timeout,
    /// The record was not delivered within `recordTtlMs`; `lastCode` says why.
    Expired,
    /// `maxBufferedRecords` or `maxBufferedBytes` is reached (with `onBufferFull: 'reject'`).
    BufferFull,
}

impl ErrorCode {
    /// Every code, in declaration order (`code as usize` indexes it).
    pub const ALL: [ErrorCode; 19] = [
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
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a record was refused at `put`.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("partitionKey must be 1 to 256 Unicode characters, got {chars}")]
    PartitionKeyLength { chars: usize },
    #[error("explicitHashKey must be a decimal integer from 0 to 2^128-1 with no leading zeros, got \"{shown}\"")]
    ExplicitHashKey { shown: String },
    #[error("record is {size} bytes (data plus partition key), over maxRecordBytes {limit}")]
    TooLarge { size: usize, limit: usize },
    #[error("record encodes to {encoded} bytes of request body, more than fits in maxRequestBytes {limit}")]
    TooLargeForRequest { encoded: usize, limit: usize },
}

/// A failure of the core, or one reported by the service for a request or a record.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("invalid option `{field}`: {reason}")]
    InvalidOption { field: &'static str, reason: String },
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
    pub fn invalid_option(field: &'static str, reason: impl Into<String>) -> Self {
        Self::InvalidOption {
            field,
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

    /// This error as the failure of a request it stopped (credentials, signing).
    pub fn to_failure(&self) -> Failure {
        match self {
            Self::Failed(f) => f.clone(),
            other => Failure {
                code: other.code(),
                retry: match other {
                    Self::Credentials(_) => RetryClass::RefreshCredentials,
                    _ => RetryClass::Terminal,
                },
                aws_code: None,
                message: other.to_string(),
                status: None,
                last_code: None,
            },
        }
    }

    /// The option a refusal is about, for `error.field` in JS.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            Self::InvalidOption { field, .. } => Some(field),
            _ => None,
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
