//! When the producer has credentials to sign with. Static credentials always serve. A
//! provider's are asked for when none are held, when they expire within a minute, and after the
//! service refused them; one ask at a time, so requests due together share it; an ask that gets
//! no answer within the request timeout counts as failed, so a hung provider cannot hold the
//! records for ever. The stream reader follows the same refresh rule (`REFRESH_MARGIN_MS`).

use std::rc::Rc;

use crate::core::model::config::CredentialsSource;
use crate::core::model::credentials::Credentials;
use crate::core::model::error::Failure;
use crate::core::Millis;

/// Ask a provider again this long before its credentials expire.
pub const REFRESH_MARGIN_MS: u64 = 60_000;

/// Whether credentials expiring at `expiration` are still good to sign with at `now` without
/// asking again.
pub fn is_fresh(expiration: Option<Millis>, now: Millis) -> bool {
    expiration.is_none_or(|e| e > now.saturating_add(REFRESH_MARGIN_MS))
}

#[derive(Debug)]
pub struct CredentialState {
    provider: bool,
    current: Option<Credentials>,
    /// An ask is out since this time.
    asked_at: Option<Millis>,
    /// The last answer serves the requests due when it came, even if it is already within the
    /// refresh margin: until a poll finds nothing more to send.
    granted: bool,
    /// Why the provider's last answer was not usable, while no good one has come since.
    failure: Option<Rc<Failure>>,
}

impl CredentialState {
    pub fn new(source: &CredentialsSource) -> Self {
        let (provider, current) = match source {
            CredentialsSource::Static(c) => (false, Some(c.clone())),
            CredentialsSource::Provider => (true, None),
        };
        Self {
            provider,
            current,
            asked_at: None,
            granted: false,
            failure: None,
        }
    }

    /// Credentials to sign a request with now, or `None` when the provider must be asked first.
    pub fn for_request(&self, now: Millis) -> Option<&Credentials> {
        let current = self.current.as_ref()?;
        let usable = !self.provider
            || is_fresh(current.expiration(), now)
            || (self.granted && !current.expires_within(now, 0));
        usable.then_some(current)
    }

    /// Credentials that have not expired, without asking (a page going away cannot wait).
    pub fn unexpired(&self, now: Millis) -> Option<&Credentials> {
        self.current
            .as_ref()
            .filter(|c| !self.provider || !c.expires_within(now, 0))
    }

    /// Whether to ask the provider now; `true` once per ask.
    pub fn ask(&mut self, now: Millis) -> bool {
        if !self.provider || self.asked_at.is_some() {
            return false;
        }
        self.asked_at = Some(now);
        true
    }

    pub fn answered(&mut self, credentials: Credentials) {
        self.current = Some(credentials);
        self.asked_at = None;
        self.granted = true;
        self.failure = None;
    }

    /// The provider failed (threw, answered something unusable, or not in time).
    pub fn failed(&mut self, failure: Failure) -> Rc<Failure> {
        self.asked_at = None;
        let failure = Rc::new(failure);
        self.failure = Some(Rc::clone(&failure));
        failure
    }

    /// The service refused the credentials as expired or unknown: ask for new ones.
    pub fn invalidate(&mut self) {
        if self.provider {
            self.current = None;
        }
    }

    /// Requests due have gone (or cannot go): the last answer's grant ends.
    pub fn burst_over(&mut self) {
        self.granted = false;
    }

    /// When an ask that is out times out.
    pub fn ask_deadline(&self, timeout_ms: u64) -> Option<Millis> {
        self.asked_at.map(|at| at.saturating_add(timeout_ms))
    }

    /// Why the provider is failing, while it is.
    pub fn failure(&self) -> Option<&Rc<Failure>> {
        self.failure.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(expiration: Option<Millis>) -> Credentials {
        Credentials::new("AK".into(), "S".into(), None, expiration).unwrap()
    }

    #[test]
    fn static_credentials_always_serve() {
        let mut s = CredentialState::new(&CredentialsSource::Static(creds(Some(5))));
        assert!(s.for_request(1_000_000).is_some());
        assert!(!s.ask(0));
        s.invalidate();
        assert!(s.for_request(0).is_some());
    }

    #[test]
    fn a_provider_is_asked_once_and_its_answer_serves_the_requests_due() {
        let mut s = CredentialState::new(&CredentialsSource::Provider);
        assert!(s.for_request(0).is_none());
        assert!(s.ask(0));
        assert!(!s.ask(1), "one ask at a time");
        assert_eq!(s.ask_deadline(100), Some(100));
        // Expires within the margin, but serves what was waiting for it.
        s.answered(creds(Some(30_000)));
        assert!(s.for_request(10).is_some());
        s.burst_over();
        assert!(s.for_request(10).is_none(), "later requests ask again");
        assert!(
            s.unexpired(10).is_some(),
            "a closing page may still use them"
        );
        assert!(s.unexpired(30_000).is_none());
        // Good for longer than the margin: served without asking.
        assert!(s.ask(20));
        s.answered(creds(Some(3_600_000)));
        s.burst_over();
        assert!(s.for_request(100_000).is_some());
        assert!(s.for_request(3_540_000).is_none(), "a minute before expiry");
        s.invalidate();
        assert!(s.for_request(0).is_none());
    }

    #[test]
    fn failures_are_kept_until_a_good_answer() {
        let mut s = CredentialState::new(&CredentialsSource::Provider);
        assert!(s.ask(0));
        let f = s.failed(Failure::new(
            crate::core::model::error::ErrorCode::Credentials,
            crate::core::model::error::RetryClass::Transient,
            "down",
        ));
        assert_eq!(s.failure(), Some(&f));
        assert!(s.ask(5), "asked again");
        s.answered(creds(None));
        assert_eq!(s.failure(), None);
        assert!(is_fresh(None, u64::MAX));
    }
}
