//! AWS credentials. `Debug` never prints the secret key or the session token.

use aws_smithy_runtime_api::client::identity::Identity;

use crate::core::error::Error;
use crate::core::Millis;

#[derive(Clone)]
pub struct Credentials {
    access_key_id: String,
    expiration: Option<Millis>,
    has_session_token: bool,
    /// The signer's own form, built once per credential set and reused for every request.
    identity: Identity,
}

impl Credentials {
    pub fn new(
        access_key_id: String,
        secret_access_key: String,
        session_token: Option<String>,
        expiration: Option<Millis>,
    ) -> Result<Self, Error> {
        if access_key_id.is_empty() || access_key_id.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(Error::Credentials("accessKeyId must be a non-empty string without spaces".into()));
        }
        if secret_access_key.is_empty() {
            return Err(Error::Credentials("secretAccessKey must be a non-empty string".into()));
        }
        let session_token = session_token.filter(|t| !t.is_empty());
        if session_token.as_deref().is_some_and(|t| t.chars().any(char::is_control)) {
            return Err(Error::Credentials("sessionToken must not contain control characters".into()));
        }
        let has_session_token = session_token.is_some();
        let identity = aws_credential_types::Credentials::new(
            access_key_id.clone(),
            secret_access_key,
            session_token,
            None,
            "kinesis-edge",
        )
        .into();
        Ok(Self {
            access_key_id,
            expiration,
            has_session_token,
            identity,
        })
    }

    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    pub fn expiration(&self) -> Option<Millis> {
        self.expiration
    }

    /// True when the credentials expire before `now + margin_ms`.
    pub fn expires_within(&self, now: Millis, margin_ms: u64) -> bool {
        self.expiration.is_some_and(|e| e <= now.saturating_add(margin_ms))
    }

    pub(crate) fn identity(&self) -> &Identity {
        &self.identity
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"** redacted **")
            .field("session_token", &if self.has_session_token { "** redacted **" } else { "none" })
            .field("expiration", &self.expiration)
            .finish()
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
        assert!(!shown.contains("SECRETMARKER") && !shown.contains("TOKENMARKER"), "{shown}");
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
