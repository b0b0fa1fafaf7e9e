//! `ProducerCore`'s CloudWatch metrics: the producers of a page or isolate publish through one
//! publisher per destination (`Destination`: every metrics setting, region, stream, fixed key
//! id), shared across the requests and queue batches of a worker, which makes a producer per
//! request. Data only crosses between producers: each upload is the I/O of whichever producer's
//! host asked for it.

use std::cell::RefCell;

use wasm_bindgen::prelude::*;

use super::producer::{millis, ProducerCore};
use super::text::{join_headers, json_string};
use crate::core::cloudwatch::put_metric_data;
use crate::core::engine::metrics_publisher::{Publisher, UNSIGNED_RETRY_MS};
use crate::core::model::config::{Config, CredentialsSource};
use crate::core::model::metrics_options::MetricsConfig;
use crate::core::model::target::StreamTarget;
use crate::core::Millis;

/// What producers must share to publish through one publisher: every setting of `metrics`, the
/// region, the stream as given (an ARN names its account) and, with fixed credentials, their
/// key id (producers of a multi-tenant worker must not publish into each other's accounts;
/// those with a credentials function share by the rest).
#[derive(PartialEq)]
struct Destination {
    metrics: MetricsConfig,
    region: String,
    target: StreamTarget,
    access_key_id: Option<String>,
}

thread_local! {
    static PUBLISHERS: RefCell<Vec<(Destination, Publisher)>> = const { RefCell::new(Vec::new()) };
}

impl Destination {
    /// The publisher of `c`'s destination in `all`, made (and added) on first use: its index.
    fn publisher(
        all: &mut Vec<(Destination, Publisher)>,
        c: &Config,
        now: Millis,
    ) -> Option<usize> {
        let metrics = c.metrics.as_ref()?;
        let key = Destination {
            metrics: metrics.clone(),
            region: c.region.clone(),
            target: c.target.clone(),
            access_key_id: match &c.credentials {
                CredentialsSource::Static(fixed) => Some(fixed.access_key_id().to_owned()),
                CredentialsSource::Provider => None,
            },
        };
        if let Some(at) = all.iter().position(|(k, _)| *k == key) {
            return Some(at);
        }
        let publisher = Publisher::new(metrics.clone(), c.target.stream_name().to_owned(), now);
        all.push((key, publisher));
        Some(all.len() - 1)
    }
}

impl ProducerCore {
    /// Hand what this producer gathered to its publisher (found once, then kept: publishers
    /// stay for the page's or isolate's life), with a sample of its pending records when the
    /// interval ends now (`poll`: `Some(force)` for a poll), then run `f` on both. One body,
    /// not one per caller (`dyn`): wasm bytes.
    fn publish(
        &mut self,
        now: Millis,
        poll: Option<bool>,
        f: &mut dyn FnMut(&mut Publisher, &mut Self),
    ) {
        let _ = PUBLISHERS.try_with(|all| {
            let mut all = all.borrow_mut();
            let at = match self.publisher {
                Some(at) => Some(at),
                None => Destination::publisher(&mut all, self.producer.config(), now),
            };
            self.publisher = at;
            if let Some((_, publisher)) = at.and_then(|at| all.get_mut(at)) {
                let closing = poll.is_some_and(|force| publisher.closes(now, force));
                publisher.absorb(self.producer.take_metrics(closing));
                f(publisher, self);
            }
        });
    }
}

impl ProducerCore {
    fn answer(&mut self, id: f64, result: Result<(), String>, now: f64) {
        let mut result = Some(result);
        self.publish(millis(now), None, &mut |p, _| {
            if let Some(r) = result.take() {
                p.answered(id as u64, r);
            }
        });
    }
}

// Free functions rather than `ProducerCore` methods: the JS glue is shared by both builds (see
// scripts/build.sh), and a bundler drops free functions that only the metrics chunk imports,
// whereas methods would ride in every page's copy of the class.

/// When the metrics are next due (epoch ms), or -1 without metrics.
#[wasm_bindgen(js_name = metricsDueAt)]
pub fn metrics_due_at(core: &mut ProducerCore, now: f64) -> f64 {
    let now = millis(now);
    let mut at = None;
    core.publish(now, None, &mut |p, core| {
        // A producer that cannot sign yet (its credentials are on their way, asked for now if
        // they were not) leaves a due upload to a later look, its own once they came or
        // another producer's: never "due now", which would have the host poll in a loop.
        let due = p.due_at();
        at = Some(if due > now || core.producer.can_sign(now) {
            due
        } else {
            due.max(now.saturating_add(UNSIGNED_RETRY_MS))
        });
    });
    at.map_or(-1.0, |at| at as f64)
}

/// The next `PutMetricData` call due (`force`: whatever is gathered, at `close()`): its id
/// then its headers, `id\nname\nvalue...` (its body from `takeBody`); `undefined`: none, or
/// no credentials to sign with yet.
#[wasm_bindgen(js_name = metricsPoll)]
pub fn metrics_poll(core: &mut ProducerCore, now: f64, force: bool) -> Option<String> {
    let now = millis(now);
    let mut out = None;
    core.publish(now, Some(force), &mut |p, core| {
        let Some((id, body)) = p.poll(now, force) else {
            return;
        };
        match core.producer.sign_metrics(body, now) {
            Some(headers) => {
                core.body = body.to_vec();
                out = Some(format!("{id}\n{}", join_headers(&headers)));
            }
            None => p.unsent(id, now),
        }
    });
    out
}

/// CloudWatch's answer to call `id`.
#[wasm_bindgen(js_name = metricsAnswered)]
pub fn metrics_answered(core: &mut ProducerCore, id: f64, status: u16, body: &[u8], now: f64) {
    core.answer(id, put_metric_data::read_answer(status, body), now);
}

/// Call `id` failed without an answer (no connection, timeout).
#[wasm_bindgen(js_name = metricsFailed)]
pub fn metrics_failed(core: &mut ProducerCore, id: f64, message: &str, now: f64) {
    core.answer(id, Err(format!("the request failed: {message}")), now);
}

/// Until when the metrics' last upload may run (epoch ms): `close()`'s deadline, `Infinity`
/// when it has none (or was not called).
#[wasm_bindgen(js_name = metricsCloseBy)]
pub fn metrics_close_by(core: &ProducerCore) -> f64 {
    match core.producer.close_deadline() {
        Some(Some(at)) => at as f64,
        _ => f64::INFINITY,
    }
}

/// What became of the uploads, as the JSON of `stats()`'s `metrics*` fields.
#[wasm_bindgen(js_name = metricsStats)]
pub fn metrics_stats(core: &mut ProducerCore, now: f64) -> String {
    let mut out = String::from("{}");
    core.publish(millis(now), None, &mut |p, _| {
        let s = p.stats();
        out = format!(
            r#"{{"metricsUploads":{},"metricsFailedUploads":{},"metricsDropped":{},"metricsError":{}}}"#,
            s.uploads,
            s.failed_uploads,
            s.dropped,
            s.last_error.as_deref().map_or("null".into(), json_string)
        );
    });
    out
}
