//! AWS credentials. `Debug` never prints the secret key or the session token.

use std::sync::Arc;

use crate::core::error::Error;
use crate::core::Millis;

/// A secret string that never shows itself in `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("** redacted **")
    }
}

#[derive(Clone, Debug)]
pub struct Credentials {
    access_key_id: String,
    /// Shared so the signing-key cache can tell "the same credentials" by pointer.
    secret_access_key: Arc<Secret>,
    session_token: Option<Secret>,
    expiration: Option<Millis>,
}

impl Credentials {
    pub fn new(
        access_key_id: String,
        secret_access_key: String,
        session_token: Option<String>,
        expiration: Option<Millis>,
    ) -> Result<Self, Error> {
        if access_key_id.is_empty()
            || access_key_id
                .chars()
                .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(Error::Credentials(
                "accessKeyId must be a non-empty string without spaces".into(),
            ));
        }
        if secret_access_key.is_empty() {
            return Err(Error::Credentials(
                "secretAccessKey must be a non-empty string".into(),
            ));
        }
        let session_token = session_token.filter(|t| !t.is_empty());
        if session_token
            .as_deref()
            .is_some_and(|t| t.chars().any(char::is_control))
        {
            return Err(Error::Credentials(
                "sessionToken must not contain control characters".into(),
            ));
        }
        Ok(Self {
            access_key_id,
            secret_access_key: Arc::new(Secret(secret_access_key)),
            session_token: session_token.map(Secret),
            expiration,
        })
    }

    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    pub fn secret_access_key(&self) -> &Arc<Secret> {
        &self.secret_access_key
    }

    pub fn session_token(&self) -> Option<&str> {
        self.session_token.as_ref().map(Secret::expose)
    }

    pub fn expiration(&self) -> Option<Millis> {
        self.expiration
    }

    /// True when the credentials expire before `now + margin_ms`.
    pub fn expires_within(&self, now: Millis, margin_ms: u64) -> bool {
        self.expiration
            .is_some_and(|e| e <= now.saturating_add(margin_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_secrets() {
        let c = Credentials::new(
            "AKIDMARKER".into(),
            "SECRETMARKER".into(),
            Some("TOKENMARKER".into()),
            Some(5),
        )
        .unwrap();
        let shown = format!("{c:?} {c:#?}");
        assert!(shown.contains("AKIDMARKER"));
        assert!(
            !shown.contains("SECRETMARKER") && !shown.contains("TOKENMARKER"),
            "{shown}"
        );
    }

    #[test]
    fn refuses_empty_parts() {
        assert!(Credentials::new("".into(), "s".into(), None, None).is_err());
        assert!(Credentials::new("a".into(), "".into(), None, None).is_err());
        let err = Credentials::new("a b".into(), "SECRETMARKER".into(), None, None).unwrap_err();
        assert!(!err.to_string().contains("SECRETMARKER"));
    }

    #[test]
    fn expiry_margin() {
        let c = Credentials::new("a".into(), "s".into(), None, Some(10_000)).unwrap();
        assert!(!c.expires_within(4_000, 5_000));
        assert!(c.expires_within(5_000, 5_000));
        let forever = Credentials::new("a".into(), "s".into(), None, None).unwrap();
        assert!(!forever.expires_within(u64::MAX, 5_000));
    }
}
