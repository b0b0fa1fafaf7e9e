//! `ProducerCore`: the core's producer as the JS driver sees it. Every method is synchronous;
//! times are epoch milliseconds from the host's `Date.now()`; ids are plain numbers.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::prelude::*;

use super::errors::error_to_js;
use super::outbox::Outbox;
use super::text::{join_headers, json_string};
use crate::core::engine::shard_map::ShardMap;
use crate::core::model::stream::StreamSettings;
use crate::core::{Answer, Config, Credentials, Error, Millis, Options, Payload, Producer, Record};

thread_local! {
    /// Shard maps the producers of this module listed, by endpoint and stream, with when: a new
    /// producer of the same stream adopts a fresh one instead of listing the shards again (a
    /// worker makes a producer per request). Data only: no I/O crosses between producers.
    static SHARD_MAPS: RefCell<Vec<(String, ShardMap, Millis)>> = const { RefCell::new(Vec::new()) };
    /// The same for the streams' settings (`DescribeStreamSummary`, limited to 20 calls per
    /// second per account, and every page load or request may start a producer).
    static STREAM_SETTINGS: RefCell<Vec<(String, StreamSettings, Millis)>> = const { RefCell::new(Vec::new()) };
}

/// Keep `value`, learnt at `at`, under `key` in `shared`, unless a newer one is there.
fn share<T: Clone>(shared: &RefCell<Vec<(String, T, Millis)>>, key: &str, value: &T, at: Millis) {
    let mut entries = shared.borrow_mut();
    match entries.iter_mut().find(|(k, _, _)| k == key) {
        Some(entry) if entry.2 < at => *entry = (key.to_owned(), value.clone(), at),
        Some(_) => {}
        None => entries.push((key.to_owned(), value.clone(), at)),
    }
}

/// No value, in the numbers the boundary returns.
const NONE: f64 = -1.0;

/// `lengths` marks a record without an explicit hash key with this length.
const NO_HASH_KEY: u32 = u32::MAX;

pub(super) fn millis(now: f64) -> Millis {
    // Before 1970 or NaN counts as 0: signing then fails loudly rather than trapping.
    if now.is_finite() && now > 0.0 {
        now as Millis
    } else {
        0
    }
}

#[wasm_bindgen(js_name = ProducerCore)]
pub struct ProducerCore {
    pub(super) producer: Producer,
    outbox: Outbox,
    /// The body of the request `pollTransmit` (or `metricsPoll`) gave last, until `takeBody`.
    pub(super) body: Vec<u8>,
    /// Errors of the records the last `put` refused.
    refusals: Vec<Error>,
    /// This stream's key in `STREAM_SETTINGS` and (with aggregation) `SHARD_MAPS`.
    stream_key: String,
    /// The text fields of the last `stats`, until `statsText`.
    stats_text: String,
    /// Where in `metrics::PUBLISHERS` this producer's publisher is, once found.
    #[cfg(feature = "metrics")]
    pub(super) publisher: Option<usize>,
}

#[wasm_bindgen(js_class = ProducerCore)]
impl ProducerCore {
    /// `options`: the `KinesisProducer` options as JSON (functions and non-finite numbers as
    /// the markers `model::options` describes). `seed` seeds the retry jitter.
    #[wasm_bindgen(constructor)]
    pub fn new(options: &str, seed: f64, now: f64) -> Result<ProducerCore, JsValue> {
        let config = Options::from_json(options, "options")
            .and_then(|o| Config::from_options(&o))
            .map_err(|e| error_to_js(&e))?;
        let stream_key = format!("{}|{}", config.endpoint.url(), config.target.json_members());
        let mut producer = Producer::new(config, seed as u64);
        let (key, now) = (&stream_key, millis(now));
        // `try_with`: `with` would link the formatting of a panic that cannot happen here.
        let _ = STREAM_SETTINGS.try_with(|all| {
            if let Some((_, settings, at)) = all.borrow().iter().find(|(k, _, _)| k == key) {
                producer.adopt_stream_settings(*settings, *at, now);
            }
        });
        let _ = SHARD_MAPS.try_with(|maps| {
            if let Some((_, map, listed_at)) = maps.borrow().iter().find(|(k, _, _)| k == key) {
                producer.adopt_shard_map(map.clone(), *listed_at, now);
            }
        });
        Ok(Self {
            producer,
            outbox: Outbox::default(),
            body: Vec::new(),
            refusals: Vec::new(),
            stream_key,
            stats_text: String::new(),
            #[cfg(feature = "metrics")]
            publisher: None,
        })
    }

    /// What the JS side needs of the validated options, as JSON: `{ url, lifecycle, provider,
    /// customFetch, spool: { maxBytes, name } | null, metrics: { url, timeoutMs } | null }`.
    pub fn host(&self) -> String {
        let c = self.producer.config();
        let spool = match &c.host.spool {
            Some((max_bytes, name)) => {
                let stream = c
                    .target
                    .arn
                    .as_ref()
                    .or(c.target.name.as_ref())
                    .map_or("", String::as_str);
                let name = name
                    .clone()
                    .unwrap_or_else(|| format!("kinesis-edge:{stream}"));
                format!(
                    r#"{{"maxBytes":{max_bytes},"name":{}}}"#,
                    json_string(&name)
                )
            }
            None => "null".into(),
        };
        #[cfg(not(feature = "metrics"))]
        let metrics = "null";
        #[cfg(feature = "metrics")]
        let metrics = match &c.metrics {
            Some(m) => format!(
                r#"{{"url":{},"timeoutMs":{}}}"#,
                json_string(&m.endpoint.url()),
                c.request_timeout_ms
            ),
            None => "null".into(),
        };
        format!(
            r#"{{"url":{},"lifecycle":{},"provider":{},"customFetch":{},"spool":{spool},"metrics":{metrics}}}"#,
            json_string(&c.endpoint.url()),
            c.host.lifecycle,
            matches!(
                c.credentials,
                crate::core::model::config::CredentialsSource::Provider
            ),
            c.host.custom_fetch,
        )
    }

    /// Take many records in one crossing. `chunk` holds every record's bytes end to end: data,
    /// partition key, explicit hash key; `lengths` has their three lengths per record
    /// (`0xFFFFFFFF`: no explicit hash key). Returns `[firstId, refusedIndex, ...]`: accepted
    /// records get consecutive ids from `firstId` in order; `refusal(k)` gives the error of the
    /// k-th refused record.
    pub fn put(&mut self, chunk: Vec<u8>, lengths: &[u32], now: f64) -> Vec<f64> {
        let now = millis(now);
        let chunk = Rc::new(chunk);
        let mut out = vec![self.producer.next_record_id() as f64];
        self.refusals.clear();
        let mut at = 0usize;
        for (index, l) in lengths.chunks_exact(3).enumerate() {
            let data = at..at.saturating_add(l[0] as usize);
            let key = data.end..data.end.saturating_add(l[1] as usize);
            let hash_key =
                (l[2] != NO_HASH_KEY).then(|| key.end..key.end.saturating_add(l[2] as usize));
            at = hash_key.as_ref().map_or(key.end, |h| h.end);
            let taken = Record::in_chunk(&chunk, data, key, hash_key)
                .map_err(Error::from)
                .and_then(|record| self.producer.put(record, now));
            if let Err(e) = taken {
                out.push(index as f64);
                self.refusals.push(e);
            }
        }
        out
    }

    /// The error of the `k`-th record the last `put` refused.
    pub fn refusal(&self, k: usize) -> JsValue {
        self.refusals.get(k).map_or(JsValue::UNDEFINED, error_to_js)
    }

    pub fn flush(&mut self) {
        self.producer.flush();
    }

    /// Refuse new records and send the rest; `timeoutMs` (default `closeTimeoutMs`; `Infinity`:
    /// never) later, what is left settles as `Closed`.
    pub fn close(&mut self, timeout_ms: Option<f64>, now: f64) -> Result<(), JsValue> {
        let timeout = match timeout_ms {
            None => self.producer.config().close_timeout_ms,
            given => Config::close_timeout(given).map_err(|e| error_to_js(&e))?,
        };
        self.producer.close(timeout, millis(now));
        Ok(())
    }

    #[wasm_bindgen(js_name = networkRestored)]
    pub fn network_restored(&mut self) {
        self.producer.network_restored();
    }

    /// The id of the next request to send (its body from `takeBody`), or -1.
    #[wasm_bindgen(js_name = pollTransmit)]
    pub fn poll_transmit(&mut self, now: f64) -> f64 {
        let transmit = self.producer.poll_transmit(millis(now));
        self.keep(transmit)
    }

    /// As `pollTransmit`, for a page going away: within `maxBody` bytes, whatever the linger,
    /// backoff and in-flight limit.
    #[wasm_bindgen(js_name = pollUnloadTransmit)]
    pub fn poll_unload_transmit(&mut self, now: f64, max_body: f64) -> f64 {
        let transmit = self
            .producer
            .poll_unload_transmit(millis(now), max_body.max(0.0) as usize);
        self.keep(transmit)
    }

    fn keep(&mut self, transmit: Option<crate::core::Transmit>) -> f64 {
        match transmit {
            Some(t) => {
                self.body = t.body;
                t.id as f64
            }
            None => NONE,
        }
    }

    /// The body of the request `pollTransmit` gave last.
    #[wasm_bindgen(js_name = takeBody)]
    pub fn take_body(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.body)
    }

    /// The headers that make request `id` sendable, as `name\nvalue\n...`, given the host's
    /// SHA-256 of its body, or (no hash) the body to hash here: a page going away cannot wait for
    /// an async digest. `undefined` when it must not be sent (see `drain`).
    pub fn sign(
        &mut self,
        id: f64,
        sha256_hex: Option<String>,
        body: Option<Vec<u8>>,
        now: f64,
    ) -> Option<String> {
        let payload = match (&sha256_hex, &body) {
            (Some(hex), _) => Payload::Sha256Hex(hex),
            (None, body) => Payload::Body(body.as_deref().unwrap_or_default()),
        };
        let headers = self.producer.sign(id as u64, payload, millis(now))?;
        Some(join_headers(&headers))
    }

    /// The answer to request `id`: status, `Date` header in epoch ms (NaN: none),
    /// `x-amzn-ErrorType` header, body.
    #[wasm_bindgen(js_name = handleAnswer)]
    pub fn handle_answer(
        &mut self,
        id: f64,
        status: u16,
        date_ms: f64,
        error_type: Option<String>,
        body: &[u8],
        now: f64,
    ) {
        let answer = Answer {
            status,
            error_type: error_type.as_deref(),
            date_ms: (date_ms.is_finite() && date_ms > 0.0).then_some(date_ms as u64),
            body,
        };
        self.producer.handle_answer(id as u64, answer, millis(now));
    }

    /// Request `id` failed without an answer (no connection, reset, CORS).
    #[wasm_bindgen(js_name = handleNetworkError)]
    pub fn handle_network_error(&mut self, id: f64, message: &str, now: f64) {
        self.producer
            .handle_network_error(id as u64, message, millis(now));
    }

    /// The credentials provider's answer, as JSON; an unusable one counts as a failure.
    #[wasm_bindgen(js_name = setCredentials)]
    pub fn set_credentials(&mut self, credentials: &str, now: f64) {
        match Credentials::from_json(credentials) {
            Ok(c) => self.producer.set_credentials(c),
            Err(e) => self.producer.credentials_failed(&e, millis(now)),
        }
    }

    /// The credentials provider threw or rejected, with this message.
    #[wasm_bindgen(js_name = credentialsFailed)]
    pub fn credentials_failed(&mut self, message: &str, now: f64) {
        let why = format!("the credentials provider failed: {message}");
        self.producer
            .credentials_failed(&Error::Credentials(why), millis(now));
    }

    /// When to call `pollTransmit` (which acts on the time passed) if nothing else happens
    /// (epoch ms), or -1.
    #[wasm_bindgen(js_name = pollTimeout)]
    pub fn poll_timeout(&self) -> f64 {
        self.producer.poll_timeout().map_or(NONE, |t| t as f64)
    }

    /// The events since the last call, as numbers: `[kinds, acks..., ends..., failed...,
    /// aborts...]` (see `Outbox::flatten`); `ackStrings()` holds the strings acks index.
    pub fn drain(&mut self) -> Vec<f64> {
        self.share_with_later_producers();
        self.outbox.fill(&mut self.producer);
        self.outbox.flatten()
    }

    /// The strings the last `drain`'s acknowledgements index, end to end (ASCII).
    #[wasm_bindgen(js_name = ackStrings)]
    pub fn ack_strings(&mut self) -> String {
        core::mem::take(&mut self.outbox.strings)
    }

    /// A new `Error` for failure `index` of the last `drain` (each record gets its own).
    pub fn failure(&self, index: usize) -> JsValue {
        self.outbox
            .failures
            .get(index)
            .map_or(JsValue::UNDEFINED, |f| super::errors::failure_to_js(f))
    }

    /// The numbers of `stats()` in the order of `layout()`'s names (NaN stands for `null`), then
    /// the failures per code in the order of its codes; its text fields wait for `statsText`.
    pub fn stats(&mut self, now: f64) -> Vec<f64> {
        let stats = self.producer.stats(millis(now));
        self.stats_text = format!(
            "{}\n{}\n{}",
            stats.aggregation.as_str(),
            stats.aggregation_note.as_deref().unwrap_or_default(),
            stats.stream_note.as_deref().unwrap_or_default()
        );
        let mut numbers = stats.numbers();
        numbers.extend(
            crate::core::ErrorCode::ALL
                .iter()
                .map(|c| stats.failures_by_code.get(*c) as f64),
        );
        numbers
    }

    /// `aggregation`, `aggregationNote` and `streamNote` (empty: none), separated by newlines, of the last
    /// `stats` (computed once for both).
    #[wasm_bindgen(js_name = statsText)]
    pub fn stats_text(&mut self) -> String {
        std::mem::take(&mut self.stats_text)
    }

    #[wasm_bindgen(js_name = isIdle)]
    pub fn is_idle(&self) -> bool {
        self.producer.is_idle()
    }
}

impl ProducerCore {
    /// Keep this producer's shard map and stream settings for the stream's next producers,
    /// when they are newer.
    fn share_with_later_producers(&self) {
        let key = &self.stream_key;
        if let Some((map, listed_at)) = self.producer.shard_map() {
            let _ = SHARD_MAPS.try_with(|maps| share(maps, key, map, listed_at));
        }
        if let Some((settings, at)) = self.producer.stream_settings() {
            let _ = STREAM_SETTINGS.try_with(|all| share(all, key, &settings, at));
        }
    }
}
