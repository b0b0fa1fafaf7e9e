//! When and what the metrics of a page or isolate are published: one interval's statistic sets
//! at most once per `intervalMs` (or when the host forces it, at `close()`), each call's body
//! retried once, at the next interval, then dropped and counted. Apart from the data path: its
//! own requests, no share of the records' buffer, backoff or in-flight limit.

use crate::core::cloudwatch::put_metric_data::{self, Datum};
use crate::core::engine::metrics::{Key, Metrics};
use crate::core::model::metrics_options::MetricsConfig;
use crate::core::Millis;

/// A `PutMetricData` body and how often it was sent.
#[derive(Debug)]
struct Call {
    id: u64,
    body: Vec<u8>,
    metrics: u64,
    attempts: u32,
}

/// What became of the uploads, for `stats()`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PublisherStats {
    /// Calls CloudWatch accepted, and those that failed (each attempt).
    pub uploads: u64,
    pub failed_uploads: u64,
    /// Statistic sets given up on after their retry failed too.
    pub dropped: u64,
    /// The last failure, as `Code (HTTP status)` or the transport's message.
    pub last_error: Option<String>,
}

/// How long a call that could not be signed waits before it is tried again.
pub const UNSIGNED_RETRY_MS: Millis = 1_000;

#[derive(Debug)]
pub struct Publisher {
    config: MetricsConfig,
    stream_name: String,
    gathered: Metrics,
    interval_start: Millis,
    /// Bodies of the interval being published, to send now.
    ready: Vec<Call>,
    /// Failed once: sent again with the next interval.
    retry: Vec<Call>,
    in_flight: Vec<Call>,
    /// Ready calls wait until then: one could not be signed (no credentials yet).
    not_before: Millis,
    /// A forced poll (`close()`) came while calls were ready: the interval ends as soon as they
    /// have gone, without waiting for its end.
    close_pending: bool,
    next_id: u64,
    stats: PublisherStats,
}

impl Publisher {
    pub fn new(config: MetricsConfig, stream_name: String, now: Millis) -> Self {
        Self {
            gathered: Metrics::new(Some(&config)),
            config,
            stream_name,
            interval_start: now,
            ready: Vec::new(),
            retry: Vec::new(),
            in_flight: Vec::new(),
            not_before: 0,
            close_pending: false,
            next_id: 0,
            stats: PublisherStats::default(),
        }
    }

    /// Take what a producer gathered.
    pub fn absorb(&mut self, metrics: Metrics) {
        self.gathered.absorb(metrics);
    }

    /// When the current interval ends (epoch ms), or when calls waiting to be sent may go.
    /// Every interval ends: records settle between the host's calls, and `UserRecordsPending`
    /// is sampled then.
    pub fn due_at(&self) -> Millis {
        if self.ready.is_empty() {
            self.interval_start.saturating_add(self.config.interval_ms)
        } else {
            self.interval_start.max(self.not_before)
        }
    }

    /// Whether `poll(now, force)` ends the interval.
    pub fn closes(&self, now: Millis, force: bool) -> bool {
        self.ready.is_empty() && (force || self.close_pending || self.due_at() <= now)
    }

    /// The next body to sign and send, with its id: the interval's bodies once it has ended
    /// (`force`, once: now, after the calls already ready, which go at once too), then the
    /// retries of the last one.
    pub fn poll(&mut self, now: Millis, force: bool) -> Option<(u64, &[u8])> {
        if force {
            self.close_pending = true;
            self.not_before = 0;
        }
        if self.closes(now, false) {
            self.close_interval(now);
            self.close_pending = false;
        }
        if now < self.not_before {
            return None;
        }
        let call = self.ready.pop()?;
        self.in_flight.push(call);
        self.in_flight.last().map(|c| (c.id, c.body.as_slice()))
    }

    /// Request `id` could not be signed (no credentials yet): it is tried again in a second,
    /// not at once (a host polling again at once would spin until credentials come).
    pub fn unsent(&mut self, id: u64, now: Millis) {
        if let Some(call) = self.take_flight(id) {
            self.ready.push(call);
            self.not_before = now.saturating_add(UNSIGNED_RETRY_MS);
        }
    }

    /// The answer to request `id`: `Err` with the service's code or the transport's message.
    pub fn answered(&mut self, id: u64, result: Result<(), String>) {
        let Some(mut call) = self.take_flight(id) else {
            return;
        };
        match result {
            Ok(()) => self.stats.uploads += 1,
            Err(why) => {
                self.stats.failed_uploads += 1;
                self.stats.last_error = Some(why);
                call.attempts += 1;
                if call.attempts > 1 {
                    self.stats.dropped += call.metrics;
                } else {
                    self.retry.push(call);
                }
            }
        }
    }

    pub fn stats(&self) -> &PublisherStats {
        &self.stats
    }

    fn take_flight(&mut self, id: u64) -> Option<Call> {
        let index = self.in_flight.iter().position(|c| c.id == id)?;
        Some(self.in_flight.remove(index))
    }

    /// End the interval: its statistic sets become bodies, sent with the last one's retries.
    fn close_interval(&mut self, now: Millis) {
        self.interval_start = now;
        let sets = self.gathered.take();
        let c = &self.config;
        let data = sets.iter().map(|(key, values)| {
            let (name, unit, _) = key.metric.describe();
            Datum {
                name,
                unit,
                dimensions: self.dimensions(key),
                values: *values,
            }
        });
        let bodies = put_metric_data::bodies(&c.namespace, now, data);
        let mut calls: Vec<Call> = std::mem::take(&mut self.retry);
        for (body, metrics) in bodies {
            calls.push(Call {
                id: self.next_id,
                body,
                metrics,
                attempts: 0,
            });
            self.next_id += 1;
        }
        // `poll` pops from the end: oldest first.
        calls.reverse();
        self.ready = calls;
    }

    fn dimensions<'a>(&'a self, key: &'a Key) -> Vec<(&'a str, &'a str)> {
        let mut out: Vec<(&str, &str)> = Vec::new();
        if key.stream {
            out.push(("StreamName", &self.stream_name));
        }
        if let Some(shard) = &key.shard {
            out.push(("ShardId", shard));
        }
        if let Some(code) = &key.code {
            out.push(("ErrorCode", code));
        }
        out.extend(
            self.config
                .dimensions
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str())),
        );
        out
    }

    /// Statistic sets of `metric` waiting to be published (tests).
    #[cfg(test)]
    pub fn gathered(&self, metric: crate::core::engine::metrics::Metric) -> usize {
        let mut copy = self.gathered.clone();
        copy.take()
            .iter()
            .filter(|(k, _)| k.metric == metric)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::engine::metrics::Metric;
    use crate::core::model::endpoint::Endpoint;
    use crate::core::model::metrics_options::{Granularity, MetricsLevel};

    fn publisher() -> Publisher {
        let config = MetricsConfig {
            level: MetricsLevel::Summary,
            granularity: Granularity::Stream,
            namespace: "KinesisProducerLibrary".into(),
            interval_ms: 60_000,
            dimensions: vec![("Host".into(), "edge-1".into())],
            endpoint: Endpoint::for_service("monitoring", "us-east-1"),
        };
        let mut p = Publisher::new(config.clone(), "readings".into(), 1_000);
        let mut m = Metrics::new(Some(&config));
        m.add(Metric::UserRecordsPut, None, 1);
        p.absorb(m);
        p
    }

    fn text(body: &[u8]) -> String {
        String::from_utf8(body.to_vec()).unwrap()
    }

    #[test]
    fn once_per_interval_or_when_forced() {
        let mut p = publisher();
        assert_eq!(p.gathered(Metric::UserRecordsPut), 2, "global and stream");
        assert_eq!(p.due_at(), 61_000);
        assert!(p.poll(60_999, false).is_none());
        let (id, body) = p.poll(61_000, false).unwrap();
        let body = text(body);
        assert!(body.contains("Name=StreamName") && body.contains("Value=readings"));
        assert!(body.contains("Name=Host") && body.contains("Value=edge-1"));
        assert!(p.poll(61_000, false).is_none(), "one body");
        p.answered(id, Ok(()));
        assert_eq!(p.due_at(), 121_000, "the next interval");
        assert!(
            p.poll(200_000, true).is_none(),
            "forced, but nothing to send"
        );
        assert_eq!(p.stats().uploads, 1);
    }

    #[test]
    fn a_forced_poll_sends_what_waits_then_closes_the_interval() {
        let mut p = publisher();
        let (id, _) = p.poll(61_000, false).unwrap();
        p.unsent(id, 61_000);
        let mut m = Metrics::new(Some(&p.config.clone()));
        m.add(Metric::UserRecordsPut, None, 1);
        p.absorb(m);
        // close() within the second the unsigned call waits: it goes, then the last interval.
        let (first, body) = p.poll(61_500, true).unwrap();
        assert!(text(body).contains("StatisticValues.SampleCount=1&"));
        let (second, body) = p.poll(61_500, false).expect("the last interval too");
        assert!(text(body).contains("UserRecordsPut"));
        assert_ne!(first, second);
        assert!(p.poll(61_500, false).is_none(), "nothing more");
    }

    #[test]
    fn a_failed_call_is_retried_once_at_the_next_interval_then_dropped() {
        let mut p = publisher();
        let (id, _) = p.poll(61_000, false).unwrap();
        p.answered(id, Err("AccessDenied (HTTP 403)".into()));
        assert_eq!(p.due_at(), 121_000, "the retry waits for the next interval");
        assert!(p.poll(100_000, false).is_none());
        let (id, body) = p.poll(121_000, false).unwrap();
        assert!(text(body).contains("UserRecordsPut"));
        p.unsent(id, 121_000);
        assert_eq!(
            p.due_at(),
            122_000,
            "unsigned: tried again a second later, not at once"
        );
        assert!(p.poll(121_999, false).is_none());
        let (id, _) = p.poll(122_000, false).unwrap();
        p.answered(id, Err("HTTP 500".into()));
        assert!(p.poll(1_000_000, true).is_none(), "dropped: nothing left");
        let s = p.stats();
        assert_eq!((s.uploads, s.failed_uploads, s.dropped), (0, 2, 2));
        assert_eq!(s.last_error.as_deref(), Some("HTTP 500"));
    }
}
