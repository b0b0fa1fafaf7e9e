//! SigV4 signing: the canonical request and string to sign from [`canonical`], the signing key
//! and the signature as HMAC-SHA256 chains over the `hmac` and `sha2` crates, with the time and
//! the payload hash handed in. The `aws-sigv4` crate computes the same two steps
//! (`sign::v4::{generate_signing_key, calculate_signature}`) but converts the time through the
//! `time` crate and formats with `format!`, kilobytes of wasm for what the scope string already
//! holds; the tests check every signature against it and against the AWS test suite. The body hash is a parameter because hashing the body dominates signing and
//! the host's own digest (node:crypto, WebCrypto) is several times faster than wasm SHA-256.
//! The derived signing key depends only on the secret, the day, the region and the service, so
//! [`SigningKeyCache`] keeps it and signing a request costs one HMAC, not five.

use std::rc::Rc;

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use crate::core::model::credentials::{Credentials, Secret};
use crate::core::model::error::Error;
use crate::core::sigv4::canonical::{self, Canonical};
use crate::core::sigv4::date::amz_date;
use crate::core::Millis;

/// What to sign. `headers` are signed as given, except the ones [`canonical`] leaves unsigned;
/// `host` comes from the URL unless given.
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
            .field(
                "security_token",
                &self.security_token.as_ref().map(|_| "** redacted **"),
            )
            .finish()
    }
}

impl SignedHeaders {
    /// As `(name, value)` pairs, names in lower case.
    pub fn pairs(&self) -> Vec<(&'static str, &str)> {
        let mut v = vec![
            ("authorization", self.authorization.as_str()),
            ("x-amz-date", self.amz_date.as_str()),
        ];
        if let Some(t) = &self.security_token {
            v.push(("x-amz-security-token", t.as_str()));
        }
        v
    }
}

/// HMAC-SHA256 of `message` under `key`.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    // Any key length is valid for HMAC, so this never fails; the empty key is the fallback.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| <Hmac<Sha256> as KeyInit>::new(&Default::default()));
    mac.update(message);
    mac.finalize().into_bytes().into()
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

/// Everything signed, before the signature: exposed so tests can compare each step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StringToSign {
    pub canonical: Canonical,
    pub amz_date: String,
    /// `YYYYMMDD/region/service/aws4_request`
    pub scope: String,
    pub text: String,
}

pub fn string_to_sign(
    input: &SignInput<'_>,
    credentials: &Credentials,
) -> Result<StringToSign, Error> {
    let hash = input.payload_sha256_hex;
    if hash.len() != 64
        || !hash
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(Error::Signing(
            "payload hash must be 64 lower-case hex digits".into(),
        ));
    }
    if input.region.is_empty() || input.service.is_empty() {
        return Err(Error::Signing(
            "region and service must not be empty".into(),
        ));
    }
    let amz_date = amz_date(input.time_ms);
    let mut added = vec![("x-amz-date", amz_date.as_str())];
    if let Some(token) = credentials.session_token() {
        added.push(("x-amz-security-token", token));
    }
    let canonical =
        canonical::canonical_request(input.method, input.url, input.headers, &added, hash)?;
    let scope = format!(
        "{}/{}/{}/aws4_request",
        amz_date.get(..8).unwrap_or_default(),
        input.region,
        input.service
    );
    let text =
        canonical::string_to_sign(&amz_date, &scope, &sha256_hex(canonical.request.as_bytes()));
    Ok(StringToSign {
        canonical,
        amz_date,
        scope,
        text,
    })
}

/// The last derived signing key, reused while the secret, day, region and service stay the same.
#[derive(Default)]
pub struct SigningKeyCache {
    entry: Option<CachedKey>,
}

struct CachedKey {
    secret: Rc<Secret>,
    /// The scope minus the access key: `YYYYMMDD/region/service/aws4_request`.
    scope: String,
    key: [u8; 32],
}

impl std::fmt::Debug for SigningKeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeyCache")
            .field("scope", &self.entry.as_ref().map(|e| e.scope.as_str()))
            .finish_non_exhaustive()
    }
}

impl SigningKeyCache {
    fn key(&mut self, credentials: &Credentials, scope: &str, input: &SignInput<'_>) -> &[u8] {
        let secret = credentials.secret_access_key();
        let fresh = self
            .entry
            .as_ref()
            .is_some_and(|e| Rc::ptr_eq(&e.secret, secret) && e.scope == scope);
        if !fresh {
            // kDate = HMAC("AWS4" + secret, date); kRegion; kService; kSigning = HMAC(.., "aws4_request").
            let secret_key = [b"AWS4", secret.expose().as_bytes()].concat();
            let mut key = hmac_sha256(&secret_key, &scope.as_bytes()[..8]);
            for part in [input.region, input.service, "aws4_request"] {
                key = hmac_sha256(&key, part.as_bytes());
            }
            self.entry = Some(CachedKey {
                secret: Rc::clone(secret),
                scope: scope.to_owned(),
                key,
            });
        }
        self.entry.as_ref().map_or(&[], |e| &e.key[..])
    }
}

pub fn sign(
    input: &SignInput<'_>,
    credentials: &Credentials,
    cache: &mut SigningKeyCache,
) -> Result<SignedHeaders, Error> {
    let sts = string_to_sign(input, credentials)?;
    let key = cache.key(credentials, &sts.scope, input);
    let signature = hex(&hmac_sha256(key, sts.text.as_bytes()));
    Ok(SignedHeaders {
        authorization: format!(
            "{} Credential={}/{}, SignedHeaders={}, Signature={signature}",
            canonical::ALGORITHM,
            credentials.access_key_id(),
            sts.scope,
            sts.canonical.signed_headers
        ),
        amz_date: sts.amz_date,
        security_token: credentials.session_token().map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(hash: &'a str, time_ms: Millis) -> SignInput<'a> {
        SignInput {
            method: "POST",
            url: "https://kinesis.us-east-1.amazonaws.com/",
            headers: &[("content-type", "application/x-amz-json-1.1")],
            payload_sha256_hex: hash,
            region: "us-east-1",
            service: "kinesis",
            time_ms,
        }
    }

    #[test]
    fn empty_body_hash() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn bad_payload_hash_is_refused() {
        let creds = Credentials::new("AKID".into(), "SECRET".into(), None, None).unwrap();
        let r = sign(&input("XYZ", 0), &creds, &mut SigningKeyCache::default());
        assert!(matches!(r, Err(Error::Signing(_))));
    }

    #[test]
    fn debug_hides_signature_and_token() {
        let creds = Credentials::new(
            "AKID".into(),
            "SECRETMARKER".into(),
            Some("TOKENMARKER".into()),
            None,
        )
        .unwrap();
        let mut cache = SigningKeyCache::default();
        let signed = sign(
            &input(&sha256_hex(b"{}"), 1_700_000_000_000),
            &creds,
            &mut cache,
        )
        .unwrap();
        let sig = signed.authorization.rsplit('=').next().unwrap().to_owned();
        let shown = format!("{signed:?} {cache:?}");
        assert!(
            !shown.contains(&sig)
                && !shown.contains("TOKENMARKER")
                && !shown.contains("SECRETMARKER"),
            "{shown}"
        );
        assert_eq!(signed.amz_date, "20231114T221320Z");
    }

    #[test]
    fn cached_key_is_reused_only_for_the_same_scope_and_secret() {
        let creds = Credentials::new("AKID".into(), "SECRET".into(), None, None).unwrap();
        let hash = sha256_hex(b"{}");
        let mut cache = SigningKeyCache::default();
        let day1 = 1_700_000_000_000;
        let a = sign(&input(&hash, day1), &creds, &mut cache).unwrap();
        // Same day, later second: the cached key must give what a fresh key gives.
        let b = sign(&input(&hash, day1 + 1_000), &creds, &mut cache).unwrap();
        let b_fresh = sign(
            &input(&hash, day1 + 1_000),
            &creds,
            &mut SigningKeyCache::default(),
        )
        .unwrap();
        assert_eq!(b, b_fresh);
        assert_ne!(a, b);
        // Next day and new credentials each derive a new key.
        let next_day = day1 + 86_400_000;
        let c = sign(&input(&hash, next_day), &creds, &mut cache).unwrap();
        assert_eq!(
            c,
            sign(
                &input(&hash, next_day),
                &creds,
                &mut SigningKeyCache::default()
            )
            .unwrap()
        );
        let other = Credentials::new("AKID".into(), "OTHER".into(), None, None).unwrap();
        let d = sign(&input(&hash, next_day), &other, &mut cache).unwrap();
        assert_eq!(
            d,
            sign(
                &input(&hash, next_day),
                &other,
                &mut SigningKeyCache::default()
            )
            .unwrap()
        );
    }
}
