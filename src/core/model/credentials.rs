//! AWS credentials. `Debug` never prints the secret key or the session token.

use std::rc::Rc;

use crate::core::model::error::Error;
use crate::core::model::options::{Options, Value};
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
    secret_access_key: Rc<Secret>,
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
            secret_access_key: Rc::new(Secret(secret_access_key)),
            session_token: session_token.map(Secret),
            expiration,
        })
    }

    /// `{ accessKeyId, secretAccessKey, sessionToken?, expiration? }`, as an option or as a
    /// provider's answer; `expiration` in epoch milliseconds (the JS side turns a `Date` or an
    /// ISO-8601 time into them with the host's `Date.parse`). Other members (SDK metadata, say)
    /// are ignored.
    pub fn from_options(o: &Options) -> Result<Self, Error> {
        let text = |key: &str| match o.get(key) {
            None => Ok(None),
            Some(Value::Text(s)) => Ok(Some(s.clone())),
            Some(_) => Err(Error::Credentials(format!("{key} must be a string"))),
        };
        let expiration = match o.get("expiration") {
            None => None,
            Some(Value::Number(ms)) if ms.is_finite() && *ms >= 0.0 => Some(*ms as Millis),
            Some(_) => return Err(bad_expiration()),
        };
        Self::new(
            text("accessKeyId")?.unwrap_or_default(),
            text("secretAccessKey")?.unwrap_or_default(),
            text("sessionToken")?,
            expiration,
        )
    }

    /// Credentials handed over as JSON (a provider's answer; see [`Options`] for the form).
    pub fn from_json(text: &str) -> Result<Self, Error> {
        let o = Options::from_json(text, "credentials").map_err(|_| {
            Error::Credentials(
                "credentials must be { accessKeyId, secretAccessKey, sessionToken? } or a function returning it"
                    .into(),
            )
        })?;
        Self::from_options(&o)
    }

    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    pub fn secret_access_key(&self) -> &Rc<Secret> {
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

fn bad_expiration() -> Error {
    Error::Credentials("expiration must be a Date, epoch milliseconds or an ISO-8601 time".into())
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

    #[test]
    fn from_json_with_an_expiration() {
        let c = Credentials::from_json(
            r#"{"accessKeyId":"AK","secretAccessKey":"S","sessionToken":"T","expiration":1796040000000,"$metadata":{}}"#,
        )
        .unwrap();
        assert_eq!(c.expiration(), Some(1_796_040_000_000));
        assert_eq!(c.session_token(), Some("T"));
        for bad in [
            r#""expiration":"soon""#,
            r#""expiration":true"#,
            r#""expiration":-1"#,
            r#""expiration":"\u0000NaN""#,
        ] {
            let text = format!(r#"{{"accessKeyId":"AK","secretAccessKey":"S",{bad}}}"#);
            assert!(
                matches!(Credentials::from_json(&text), Err(Error::Credentials(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            Credentials::from_json("5"),
            Err(Error::Credentials(_))
        ));
        assert!(matches!(
            Credentials::from_json(r#"{"accessKeyId":5,"secretAccessKey":"S"}"#),
            Err(Error::Credentials(m)) if m.contains("accessKeyId")
        ));
    }
}
