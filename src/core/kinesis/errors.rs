//! The service's errors: which [`ErrorCode`] an AWS error maps to and whether, and how, it may
//! be retried (the retry policy decides *when*), and reading a whole-request error answer.

use std::borrow::Cow;

use crate::core::json::{Malformed, Reader};
use crate::core::model::error::{ErrorCode, Failure, RetryClass};

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
    // Compared window by window: `str::contains` links a two-way searcher (kilobytes of wasm).
    let has = |phrase: &str| {
        m.as_bytes()
            .windows(phrase.len())
            .any(|w| w == phrase.as_bytes())
    };
    has("signature expired") || has("too skewed") || has("signature not yet current")
}

/// A classified [`Failure`].
pub fn failure(aws_code: Option<&str>, status: Option<u16>, message: &str) -> Failure {
    let (code, retry) = classify(aws_code, status, message);
    Failure {
        aws_code: aws_code.map(|c| short_error_name(c).to_owned()),
        status,
        ..Failure::new(code, retry, message)
    }
}

/// The error name (`__type`) and `message` (or `Message`) of a JSON error body.
type ErrorBody<'a> = (Option<Cow<'a, str>>, Option<Cow<'a, str>>);

fn read_error_body(body: &[u8]) -> Result<ErrorBody<'_>, Malformed> {
    let (mut kind, mut message) = (None, None);
    let mut reader = Reader::new(body);
    reader.object(&mut |r, key| {
        match &*key {
            "__type" => kind = r.string_or_skip()?,
            "message" | "Message" => message = r.string_or_skip()?.or(message.take()),
            _ => r.skip()?,
        }
        Ok(())
    })?;
    reader.end()?;
    Ok((kind, message))
}

/// Longest piece of an unexpected body quoted in an error message.
const QUOTE_CHARS: usize = 200;

/// Classify a non-2xx answer from its JSON error body (`__type`, `message` or `Message`) or,
/// failing that, its `x-amzn-ErrorType` header and status.
pub fn request_failure(status: u16, error_type_header: Option<&str>, body: &[u8]) -> Failure {
    let (kind, message) = read_error_body(body).unwrap_or_default();
    let kind = kind
        .as_deref()
        .or(error_type_header)
        .filter(|k| !k.is_empty());
    let message = match message {
        Some(m) => m.into_owned(),
        None => {
            let text = String::from_utf8_lossy(body);
            let quoted: String = text.chars().take(QUOTE_CHARS).collect();
            if quoted.trim().is_empty() {
                format!("HTTP {status} with no error body")
            } else {
                quoted
            }
        }
    };
    failure(kind, Some(status), &message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::error::RetryClass;

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

    #[test]
    fn error_answers() {
        let f = request_failure(
            400,
            None,
            br#"{"__type":"ResourceNotFoundException","message":"Stream x under account 1 not found."}"#,
        );
        assert_eq!(
            (f.code, f.status, f.retry),
            (ErrorCode::NotFound, Some(400), RetryClass::Terminal)
        );
        assert_eq!(f.message, "Stream x under account 1 not found.");
        let f = request_failure(
            400,
            None,
            br#"{"__type":"com.amazon#ValidationException","Message":"bad"}"#,
        );
        assert_eq!(
            (f.code, f.message.as_str(), f.aws_code.as_deref()),
            (ErrorCode::Validation, "bad", Some("ValidationException"))
        );
        let f = request_failure(503, None, b"<html>Service Unavailable</html>");
        assert_eq!(
            (f.code, f.retry),
            (ErrorCode::ServiceUnavailable, RetryClass::Transient)
        );
        assert_eq!(f.message, "<html>Service Unavailable</html>");
        let f = request_failure(400, Some("AccessDeniedException:http://x/"), b"");
        assert_eq!(f.code, ErrorCode::AccessDenied);
        assert_eq!(f.message, "HTTP 400 with no error body");
    }
}
