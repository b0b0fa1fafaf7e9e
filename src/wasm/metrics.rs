//! `ProducerCore`'s CloudWatch metrics: the producers of a page or isolate publish through one
//! publisher per destination (endpoint, namespace, stream, dimensions), shared across the
//! requests and queue batches of a worker, which makes a producer per request. Data only crosses
//! between producers: each upload is the I/O of whichever producer's host asked for it.

use std::cell::RefCell;

use wasm_bindgen::prelude::*;

use super::producer::{millis, ProducerCore};
use super::text::{join_headers, json_string};
use crate::core::cloudwatch::put_metric_data;
use crate::core::engine::metrics_publisher::Publisher;
use crate::core::Millis;

thread_local! {
    static PUBLISHERS: RefCell<Vec<(String, Publisher)>> = const { RefCell::new(Vec::new()) };
}

impl ProducerCore {
    /// Hand what this producer gathered to its publisher (made on first use), with a sample of
    /// its pending records when `closing` says the interval ends now, then run `f` on both;
    /// `None` without metrics.
    fn publish<R>(
        &mut self,
        now: Millis,
        closing: impl FnOnce(&Publisher) -> bool,
        f: impl FnOnce(&mut Publisher, &mut Self) -> R,
    ) -> Option<R> {
        let c = self.producer.config();
        let m = c.metrics.as_ref()?;
        let stream = match (&c.target.name, &c.target.arn) {
            (Some(name), _) => name.clone(),
            (None, Some(arn)) => arn.rsplit('/').next().unwrap_or_default().to_owned(),
            (None, None) => String::new(),
        };
        let mut key = format!("{}|{}|{}|{stream}", m.endpoint.url(), c.region, m.namespace);
        for (name, value) in &m.dimensions {
            key.push_str(&format!("|{name}={value}"));
        }
        let config = m.clone();
        PUBLISHERS
            .try_with(|all| {
                let mut all = all.borrow_mut();
                if !all.iter().any(|(k, _)| *k == key) {
                    all.push((key.clone(), Publisher::new(config, stream, now)));
                }
                let publisher = all.iter_mut().find(|(k, _)| *k == key).map(|(_, p)| p)?;
                publisher.absorb(self.producer.take_metrics(closing(publisher)));
                Some(f(publisher, self))
            })
            .ok()
            .flatten()
    }
}

#[wasm_bindgen(js_class = ProducerCore)]
impl ProducerCore {
    /// When the metrics are next due (epoch ms), or -1 without metrics.
    #[wasm_bindgen(js_name = metricsDueAt)]
    pub fn metrics_due_at(&mut self, now: f64) -> f64 {
        self.publish(millis(now), |_| false, |p, _| p.due_at())
            .map_or(-1.0, |t| t as f64)
    }

    /// The next `PutMetricData` call due (`force`: whatever is gathered, at `close()`): its id
    /// then its headers, `id\nname\nvalue...` (its body from `takeBody`); `undefined`: none, or
    /// no credentials to sign with yet.
    #[wasm_bindgen(js_name = metricsPoll)]
    pub fn metrics_poll(&mut self, now: f64, force: bool) -> Option<String> {
        let now = millis(now);
        self.publish(
            now,
            |p| p.closes(now, force),
            |p, core| {
                let (id, body) = p.poll(now, force)?;
                let Some(headers) = core.producer.sign_metrics(body, now) else {
                    p.unsent(id);
                    return None;
                };
                core.body = body.to_vec();
                Some(format!("{id}\n{}", join_headers(&headers)))
            },
        )
        .flatten()
    }

    /// CloudWatch's answer to call `id`.
    #[wasm_bindgen(js_name = metricsAnswered)]
    pub fn metrics_answered(&mut self, id: f64, status: u16, body: &[u8], now: f64) {
        let result = put_metric_data::read_answer(status, body);
        self.publish(millis(now), |_| false, |p, _| p.answered(id as u64, result));
    }

    /// Call `id` failed without an answer (no connection, timeout).
    #[wasm_bindgen(js_name = metricsFailed)]
    pub fn metrics_failed(&mut self, id: f64, message: &str, now: f64) {
        let why = format!("the request failed: {message}");
        self.publish(
            millis(now),
            |_| false,
            |p, _| p.answered(id as u64, Err(why)),
        );
    }

    /// What became of the uploads, as the JSON of `stats()`'s `metrics*` fields.
    #[wasm_bindgen(js_name = metricsStats)]
    pub fn metrics_stats(&mut self, now: f64) -> String {
        self.publish(millis(now), |_| false, |p, _| {
            let s = p.stats();
            format!(
                r#"{{"metricsUploads":{},"metricsFailedUploads":{},"metricsDropped":{},"metricsError":{}}}"#,
                s.uploads,
                s.failed_uploads,
                s.dropped,
                s.last_error.as_deref().map_or("null".into(), json_string)
            )
        })
        .unwrap_or_else(|| "{}".into())
    }
}
