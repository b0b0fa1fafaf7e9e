//! Credentials from a static object or an async provider. Provider results are cached until
//! shortly before they expire, and concurrent requests share one call to the provider.

use std::cell::RefCell;

use js_sys::{Function, Promise};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::errors::describe;
use super::host::{race_deadline, Deadline};
use super::options::{expiration_ms, field};
use crate::core::{Credentials, Error, Millis};

/// Refresh provider credentials this long before they expire.
const REFRESH_MARGIN_MS: u64 = 60_000;

pub enum CredentialSource {
    Static(Credentials),
    Provider {
        provider: Function,
        cached: RefCell<Option<Credentials>>,
        pending: RefCell<Option<Promise>>,
    },
}

/// Parse `{ accessKeyId, secretAccessKey, sessionToken?, expiration? }`.
pub fn parse(value: &JsValue) -> Result<Credentials, Error> {
    if !value.is_object() {
        return Err(Error::Credentials(
            "credentials must be { accessKeyId, secretAccessKey, sessionToken? } or a function returning it".into(),
        ));
    }
    let string = |key: &str| -> Result<Option<String>, Error> {
        let v = field(value, key);
        if v.is_undefined() || v.is_null() {
            return Ok(None);
        }
        v.as_string()
            .map(Some)
            .ok_or_else(|| Error::Credentials(format!("{key} must be a string")))
    };
    let access_key_id = string("accessKeyId")?.unwrap_or_default();
    let secret = string("secretAccessKey")?.unwrap_or_default();
    let token = string("sessionToken")?;
    let expiration = expiration_ms(&field(value, "expiration"))?;
    Credentials::new(access_key_id, secret, token, expiration)
}

impl CredentialSource {
    pub fn from_js(value: &JsValue) -> Result<Self, Error> {
        match value.dyn_ref::<Function>() {
            Some(f) => Ok(Self::Provider {
                provider: f.clone(),
                cached: RefCell::new(None),
                pending: RefCell::new(None),
            }),
            None => parse(value).map(Self::Static),
        }
    }

    /// Forget cached provider credentials (the service refused them); the next request asks again.
    pub fn invalidate(&self) {
        if let Self::Provider { cached, .. } = self {
            if let Ok(mut c) = cached.try_borrow_mut() {
                c.take();
            }
        }
    }

    /// Credentials valid at `now` without waiting: static ones, or a provider's cached ones that
    /// have not expired (for a page that is going away, which cannot wait for a provider).
    pub fn current(&self, now: Millis) -> Option<Credentials> {
        match self {
            Self::Static(c) => Some(c.clone()),
            Self::Provider { cached, .. } => cached
                .try_borrow()
                .ok()?
                .as_ref()
                .filter(|c| !c.expires_within(now, 0))
                .cloned(),
        }
    }

    /// Credentials valid at `now`, calling the provider when the cache is empty or expiring.
    /// A provider that has not answered within `timeout_ms` fails like one that threw, and is
    /// asked again next time: a hung provider must not hold the requests waiting on it forever.
    pub async fn get(&self, now: Millis, timeout_ms: u64) -> Result<Credentials, Error> {
        let (provider, cached, pending) = match self {
            Self::Static(c) => return Ok(c.clone()),
            Self::Provider {
                provider,
                cached,
                pending,
            } => (provider, cached, pending),
        };
        if let Some(c) = cached
            .borrow()
            .as_ref()
            .filter(|c| !c.expires_within(now, REFRESH_MARGIN_MS))
        {
            return Ok(c.clone());
        }
        let existing = pending.borrow().clone();
        let promise = match existing {
            Some(p) => p,
            None => {
                let returned = provider.call0(&JsValue::UNDEFINED).map_err(|e| {
                    Error::Credentials(format!("the credentials provider threw: {}", describe(&e)))
                })?;
                let p = Promise::resolve(&returned);
                *pending.borrow_mut() = Some(p.clone());
                p
            }
        };
        let deadline = Deadline::start(timeout_ms);
        let result = JsFuture::from(race_deadline(&promise.into(), &deadline)).await;
        pending.borrow_mut().take();
        let value = result.map_err(|e| {
            Error::Credentials(if deadline.fired() {
                format!("the credentials provider did not answer within {timeout_ms} ms")
            } else {
                format!("the credentials provider failed: {}", describe(&e))
            })
        })?;
        let creds = parse(&value)?;
        *cached.borrow_mut() = Some(creds.clone());
        Ok(creds)
    }
}
