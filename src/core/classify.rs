//! Response classification: which [`ErrorCode`] a service error maps to and whether, and how,
//! it may be retried. The retry engine decides *when*; this module only decides *what*.

use crate::core::error::{ErrorCode, Failure};

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

/// The part of an AWS error name after any namespace (`com.amazonaws...#Name`) or
/// `x-amzn-ErrorType` suffix (`Name:http://...`).
pub fn short_error_name(raw: &str) -> &str {
    let name = raw.rsplit('#').next().unwrap_or(raw);
    name.split(':').next().unwrap_or(name).trim()
}

/// Classify an error named by the service (a whole-request `__type` or a per-record
/// `ErrorCode`), with the HTTP status when the whole request failed.
pub fn classify(
    aws_code: Option<&str>,
    status: Option<u16>,
    message: &str,
) -> (ErrorCode, RetryClass) {
    use ErrorCode as C;
    use RetryClass as R;
    let by_name = aws_code.map(short_error_name).and_then(|name| {
        Some(match name {
            "ProvisionedThroughputExceededException"
            | "LimitExceededException"
            | "KMSThrottlingException"
            | "ThrottlingException"
            | "Throttling"
            | "TooManyRequestsException"
            | "RequestLimitExceeded" => (C::Throttled, R::Throttling),
            "InternalFailure"
            | "InternalFailureException"
            | "InternalServerError"
            | "ServiceUnavailable"
            | "ServiceUnavailableException" => (C::ServiceUnavailable, R::Transient),
            "ResourceNotFoundException" => (C::NotFound, R::Terminal),
            "ValidationException"
            | "InvalidArgumentException"
            | "SerializationException"
            | "MissingParameter"
            | "InvalidParameterCombination" => (C::Validation, R::Terminal),
            "AccessDeniedException"
            | "AccessDenied"
            | "MissingAuthenticationToken"
            | "IncompleteSignature"
            | "IncompleteSignatureException" => (C::AccessDenied, R::Terminal),
            "ExpiredTokenException"
            | "ExpiredToken"
            | "UnrecognizedClientException"
            | "InvalidClientTokenId" => (C::ExpiredCredentials, R::RefreshCredentials),
            "RequestExpired" | "RequestTimeTooSkewed" => (C::ClockSkew, R::ClockSkew),
            "InvalidSignatureException" | "SignatureDoesNotMatch" => {
                if is_skew_message(message) {
                    (C::ClockSkew, R::ClockSkew)
                } else {
                    (C::Signing, R::Terminal)
                }
            }
            "KMSDisabledException"
            | "KMSInvalidStateException"
            | "KMSAccessDeniedException"
            | "KMSNotFoundException"
            | "KMSOptInRequired" => (C::Kms, R::Terminal),
            _ => return None,
        })
    });
    by_name.unwrap_or(match status {
        Some(429) => (C::Throttled, R::Throttling),
        Some(500..=599) => (C::ServiceUnavailable, R::Transient),
        Some(403) => (C::AccessDenied, R::Terminal),
        Some(404) => (C::NotFound, R::Terminal),
        _ => (C::RequestFailed, R::Terminal),
    })
}

/// The service says "Signature expired: ... is now earlier than ..." or that the request
/// time is too far from its own; both mean the local clock is off.
fn is_skew_message(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("signature expired")
        || m.contains("too skewed")
        || m.contains("signature not yet current")
}

/// Build a classified [`Failure`].
pub fn failure(aws_code: Option<&str>, status: Option<u16>, message: &str) -> Failure {
    let (code, retry) = classify(aws_code, status, message);
    Failure {
        code,
        retry,
        aws_code: aws_code.map(|c| short_error_name(c).to_owned()),
        message: message.to_owned(),
        status,
        last_code: None,
    }
}

/// A failure that never reached the service or never got its answer.
pub fn transport_failure(code: ErrorCode, message: &str) -> Failure {
    Failure {
        code,
        retry: RetryClass::Transient,
        aws_code: None,
        message: message.to_owned(),
        status: None,
        last_code: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_record_codes() {
        assert_eq!(
            classify(Some("ProvisionedThroughputExceededException"), None, ""),
            (ErrorCode::Throttled, RetryClass::Throttling)
        );
        assert_eq!(
            classify(Some("InternalFailure"), None, ""),
            (ErrorCode::ServiceUnavailable, RetryClass::Transient)
        );
    }

    #[test]
    fn namespaced_and_header_forms() {
        assert_eq!(
            short_error_name("com.amazonaws.kinesis.v20131202#ResourceNotFoundException"),
            "ResourceNotFoundException"
        );
        assert_eq!(
            short_error_name("ValidationException:http://internal.amazon.com/"),
            "ValidationException"
        );
        assert_eq!(
            classify(
                Some("com.amazon.coral.service#ExpiredTokenException"),
                Some(400),
                ""
            )
            .1,
            RetryClass::RefreshCredentials
        );
    }

    #[test]
    fn terminal_errors() {
        for name in [
            "ResourceNotFoundException",
            "ValidationException",
            "InvalidArgumentException",
            "AccessDeniedException",
            "KMSDisabledException",
            "KMSInvalidStateException",
            "KMSAccessDeniedException",
            "KMSNotFoundException",
            "KMSOptInRequired",
        ] {
            assert_eq!(
                classify(Some(name), Some(400), "").1,
                RetryClass::Terminal,
                "{name}"
            );
        }
    }

    #[test]
    fn throttling_errors() {
        for name in ["LimitExceededException", "KMSThrottlingException"] {
            assert_eq!(
                classify(Some(name), Some(400), "").0,
                ErrorCode::Throttled,
                "{name}"
            );
        }
        assert_eq!(
            classify(None, Some(429), ""),
            (ErrorCode::Throttled, RetryClass::Throttling)
        );
    }

    #[test]
    fn skew_is_told_from_a_bad_signature() {
        let expired = "Signature expired: 20260101T000000Z is now earlier than 20260101T000500Z";
        assert_eq!(
            classify(Some("InvalidSignatureException"), Some(400), expired),
            (ErrorCode::ClockSkew, RetryClass::ClockSkew)
        );
        assert_eq!(
            classify(
                Some("InvalidSignatureException"),
                Some(400),
                "The request signature we calculated does not match"
            ),
            (ErrorCode::Signing, RetryClass::Terminal)
        );
        assert_eq!(
            classify(Some("RequestExpired"), Some(400), "").1,
            RetryClass::ClockSkew
        );
    }

    #[test]
    fn status_fallback() {
        assert_eq!(
            classify(None, Some(503), ""),
            (ErrorCode::ServiceUnavailable, RetryClass::Transient)
        );
        assert_eq!(
            classify(Some("SomethingNew"), Some(502), "").1,
            RetryClass::Transient
        );
        assert_eq!(
            classify(Some("SomethingNew"), Some(400), "").0,
            ErrorCode::RequestFailed
        );
    }
}
