//! SigV4 signing through the `aws-sigv4` crate, with the time and the payload hash handed in.
//!
//! The body hash is a parameter because hashing the body dominates signing and the host's own
//! digest (node:crypto, WebCrypto) is several times faster than SHA-256 compiled to wasm.
//! The crate's `http_request::sign` derives the signing key on every call and has no way to
//! take a cached one; what can be reused (the crate's `Identity`) is built once per
//! credential set in [`Credentials`].

use std::time::{Duration, UNIX_EPOCH};

use aws_sigv4::http_request::{sign as sigv4_sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use sha2::{Digest, Sha256};

use crate::core::credentials::Credentials;
use crate::core::error::Error;
use crate::core::Millis;

/// What to sign. `headers` are signed as given (the crate adds `host` from the URL).
pub struct SignInput<'a> {
    pub method: &'a str,
    pub url: &'a str,
    pub headers: &'a [(&'a str, &'a str)],
    /// Lower-case hex SHA-256 of the body.
    pub payload_sha256_hex: &'a str,
    pub region: &'a str,
    pub service: &'a str,
    pub time_ms: Millis,
}

/// The headers that make a request signed.
#[derive(Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    pub authorization: String,
    pub amz_date: String,
    pub security_token: Option<String>,
}

impl std::fmt::Debug for SignedHeaders {
    // The signature authorises the request until it expires: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedHeaders")
            .field("amz_date", &self.amz_date)
            .field("authorization", &"** redacted **")
            .field("security_token", &self.security_token.as_ref().map(|_| "** redacted **"))
            .finish()
    }
}

impl SignedHeaders {
    /// As `(name, value)` pairs, names in lower case.
    pub fn pairs(&self) -> Vec<(&'static str, &str)> {
        let mut v = vec![("authorization", self.authorization.as_str()), ("x-amz-date", self.amz_date.as_str())];
        if let Some(t) = &self.security_token {
            v.push(("x-amz-security-token", t.as_str()));
        }
        v
    }
}

/// Headers the signer writes itself; any given by the caller are left out of the signature.
pub fn is_signature_header(name: &str) -> bool {
    ["authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256"]
        .iter()
        .any(|h| h.eq_ignore_ascii_case(name))
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

pub fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
    s
}

pub fn sign(input: &SignInput<'_>, credentials: &Credentials) -> Result<SignedHeaders, Error> {
    let hash = input.payload_sha256_hex;
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Err(Error::Signing("payload hash must be 64 lower-case hex digits".into()));
    }
    let time = UNIX_EPOCH + Duration::from_millis(input.time_ms);
    let params = v4::SigningParams::builder()
        .identity(credentials.identity())
        .region(input.region)
        .name(input.service)
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| Error::Signing(e.to_string()))?
        .into();
    let headers = input
        .headers
        .iter()
        .filter(|(name, _)| !is_signature_header(name))
        .map(|(n, v)| (*n, *v));
    let request = SignableRequest::new(input.method, input.url, headers, SignableBody::Precomputed(hash.to_owned()))
        .map_err(|e| Error::Signing(e.to_string()))?;
    let (instructions, _signature) = sigv4_sign(request, &params)
        .map_err(|e| Error::Signing(e.to_string()))?
        .into_parts();
    let mut out = SignedHeaders {
        authorization: String::new(),
        amz_date: String::new(),
        security_token: None,
    };
    for (name, value) in instructions.headers() {
        match name {
            "authorization" => out.authorization = value.to_owned(),
            "x-amz-date" => out.amz_date = value.to_owned(),
            "x-amz-security-token" => out.security_token = Some(value.to_owned()),
            _ => {}
        }
    }
    if out.authorization.is_empty() || out.amz_date.is_empty() {
        return Err(Error::Signing("the signer produced no authorization header".into()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_body_hash() {
        assert_eq!(sha256_hex(b""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }

    #[test]
    fn bad_payload_hash_is_refused() {
        let creds = Credentials::new("AKID".into(), "SECRET".into(), None, None).unwrap();
        let input = SignInput {
            method: "POST",
            url: "https://kinesis.us-east-1.amazonaws.com/",
            headers: &[],
            payload_sha256_hex: "XYZ",
            region: "us-east-1",
            service: "kinesis",
            time_ms: 0,
        };
        assert!(matches!(sign(&input, &creds), Err(Error::Signing(_))));
    }

    #[test]
    fn debug_hides_signature_and_token() {
        let creds = Credentials::new("AKID".into(), "SECRETMARKER".into(), Some("TOKENMARKER".into()), None).unwrap();
        let input = SignInput {
            method: "POST",
            url: "https://kinesis.us-east-1.amazonaws.com/",
            headers: &[("content-type", "application/x-amz-json-1.1")],
            payload_sha256_hex: &sha256_hex(b"{}"),
            region: "us-east-1",
            service: "kinesis",
            time_ms: 1_700_000_000_000,
        };
        let signed = sign(&input, &creds).unwrap();
        let sig = signed.authorization.rsplit('=').next().unwrap().to_owned();
        let shown = format!("{signed:?}");
        assert!(!shown.contains(&sig) && !shown.contains("TOKENMARKER"), "{shown}");
        assert_eq!(signed.amz_date, "20231114T221320Z");
    }
}
