//! The producer's CloudWatch metrics for one interval, by the KPL's names, units and dimensions:
//! a statistic set (sample count, sum, minimum, maximum) per metric and dimension set. The
//! producer feeds it where records are received, sent, answered and settled; the host takes what
//! an interval gathered (`take`) and publishes it. Counts only: never a key or a record's bytes.

use std::rc::Rc;

use crate::core::cloudwatch::put_metric_data::StatisticSet;
use crate::core::engine::events::Outcome;
use crate::core::engine::packer::Entry;
use crate::core::engine::queue::Queued;
use crate::core::model::config::Config;
use crate::core::model::error::{ErrorCode, Failure};
use crate::core::model::metrics_options::{Granularity, MetricsConfig, MetricsLevel};
use crate::core::Millis;

/// Declares `Metric` from one list of the KPL's metrics, each with its CloudWatch unit and
/// whether it is published only at level `detailed`: the enum, `ALL` (in declaration order, so
/// `ALL[m as usize] == m`) and `describe` (its name is the variant's).
macro_rules! metrics {
    ($($metric:ident: $unit:literal, $detailed:literal;)*) => {
        /// The KPL's metrics this producer publishes.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
        pub enum Metric {
            $($metric,)*
        }

        /// How many metrics there are (`Metric as usize` indexes them).
        const METRICS: usize = [$(Metric::$metric),*].len();

        impl Metric {
            const ALL: [Metric; METRICS] = [$(Metric::$metric),*];

            /// Name, CloudWatch unit, and whether it is published only at level `detailed`.
            pub fn describe(self) -> (&'static str, &'static str, bool) {
                match self {
                    $(Metric::$metric => (stringify!($metric), $unit, $detailed),)*
                }
            }
        }
    };
}

metrics! {
    UserRecordsReceived: "Count", true;
    UserRecordsPending: "Count", true;
    UserRecordsPut: "Count", false;
    UserRecordsDataPut: "Bytes", true;
    KinesisRecordsPut: "Count", false;
    KinesisRecordsDataPut: "Bytes", true;
    ErrorsByCode: "Count", false;
    AllErrors: "Count", false;
    RetriesPerRecord: "Count", true;
    UserRecordExpired: "Count", false;
    BufferingTime: "Milliseconds", false;
    RequestTime: "Milliseconds", true;
    UserRecordsPerKinesisRecord: "Count", true;
    KinesisRecordsPerPutRecordsRequest: "Count", true;
    UserRecordsPerPutRecordsRequest: "Count", true;
}

/// The dimensions a statistic set is published under, besides the configured extra ones.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Key {
    pub metric: Metric,
    /// `StreamName` (the stream's name) is a dimension.
    pub stream: bool,
    /// `ShardId`, with `StreamName`.
    pub shard: Option<Rc<str>>,
    /// `ErrorCode` (`ErrorsByCode` only): the service's code, or the producer's.
    pub code: Option<Rc<str>>,
}

/// A statistic set per metric (`Metric as usize`), where one was gathered.
type Places = [Option<StatisticSet>; METRICS];

/// One interval's statistic sets.
#[derive(Clone, Debug, Default)]
pub struct Metrics {
    /// `None`: level `'none'`, nothing is gathered.
    level: Option<MetricsLevel>,
    granularity: Option<Granularity>,
    /// Sets without a code, by scope (global, stream, then each shard seen: its `ShardId`),
    /// each holding a place per metric. Fixed places, since a record touches about twenty sets
    /// on its way; searching a list for each cost the loop more than the rest of its path.
    scopes: Vec<(Option<Rc<str>>, Places)>,
    /// `ErrorsByCode`'s sets, one per code and scope: failures only, searched.
    coded: Vec<(Key, StatisticSet)>,
}

impl Metrics {
    pub fn new(config: Option<&MetricsConfig>) -> Self {
        Self {
            level: config.map(|c| c.level),
            granularity: config.map(|c| c.granularity),
            ..Self::default()
        }
    }

    /// What a producer with this configuration gathers.
    pub fn of(config: &Config) -> Self {
        Self::new(config.metrics.as_ref())
    }

    /// A record was accepted by `put`.
    pub fn received(&mut self) {
        self.add(Metric::UserRecordsReceived, None, 1);
    }

    /// A `PutRecords` call was answered after `elapsed` ms.
    pub fn request_time(&mut self, elapsed: Millis) {
        self.add(Metric::RequestTime, None, elapsed);
    }

    /// Count `value` for `metric`, at every granularity up to the configured one (the shard's
    /// only where the shard is known).
    pub fn add(&mut self, metric: Metric, shard: Option<&Rc<str>>, value: u64) {
        self.add_set(metric, shard, None, &StatisticSet::of(value));
    }

    /// One record's attempt failed: `ErrorsByCode` under the service's code (the producer's
    /// where the service gave none: `Network`, `Timeout`, `Expired`), and `AllErrors`.
    pub fn error(&mut self, failure: &Failure) {
        if !self.enabled() {
            return;
        }
        let code: Rc<str> = failure
            .aws_code
            .as_deref()
            // An expired record keeps its last attempt's code; it is counted as expired.
            .filter(|_| failure.code != ErrorCode::Expired)
            .unwrap_or(failure.code.as_str())
            .into();
        self.add_set(
            Metric::ErrorsByCode,
            None,
            Some(&code),
            &StatisticSet::of(1),
        );
        self.add(Metric::AllErrors, None, 1);
    }

    /// Merge `set` into `metric`'s sets (under `code`, for `ErrorsByCode`) at every
    /// granularity up to the configured one.
    fn add_set(
        &mut self,
        metric: Metric,
        shard: Option<&Rc<str>>,
        code: Option<&Rc<str>>,
        set: &StatisticSet,
    ) {
        let (Some(level), Some(granularity)) = (self.level, self.granularity) else {
            return;
        };
        if metric.describe().2 && level < MetricsLevel::Detailed {
            return;
        }
        let scopes = [(false, None), (true, None), (true, shard)];
        let depth = match granularity {
            Granularity::Global => 1,
            _ if shard.is_none() || granularity == Granularity::Stream => 2,
            _ => 3,
        };
        for (stream, shard) in scopes.into_iter().take(depth) {
            let key = Key {
                metric,
                stream,
                shard: shard.cloned(),
                code: code.cloned(),
            };
            self.merge(key, set);
        }
    }

    fn merge(&mut self, key: Key, set: &StatisticSet) {
        if key.code.is_some() {
            match self.coded.iter_mut().find(|(k, _)| *k == key) {
                Some((_, s)) => s.merge(set),
                None => self.coded.push((key, *set)),
            }
            return;
        }
        while self.scopes.len() < 2 {
            self.scopes.push((None, [None; METRICS]));
        }
        let at = match &key.shard {
            None => usize::from(key.stream),
            Some(shard) => match self.scopes[2..].iter().position(|(s, _)| {
                s.as_ref()
                    .is_some_and(|s| Rc::ptr_eq(s, shard) || s == shard)
            }) {
                Some(i) => i + 2,
                None => {
                    self.scopes.push((key.shard, [None; METRICS]));
                    self.scopes.len() - 1
                }
            },
        };
        match &mut self.scopes[at].1[key.metric as usize] {
            Some(s) => s.merge(set),
            slot => *slot = Some(*set),
        }
    }

    /// A `PutRecords` request was built from `records`, carried by `entries` when aggregated:
    /// the records' time in the buffer (first send only) and the request's make-up.
    pub fn sent(&mut self, records: &[Queued], entries: Option<&[Entry]>, now: Millis) {
        if !self.enabled() {
            return;
        }
        // Each record's sample, merged here first: one merge per request, not per record.
        let mut buffering: Option<StatisticSet> = None;
        for q in records.iter().filter(|q| q.attempts == 0) {
            let sample = StatisticSet::of(now.saturating_sub(q.accepted_at));
            match &mut buffering {
                Some(b) => b.merge(&sample),
                None => buffering = Some(sample),
            }
        }
        if let Some(b) = buffering {
            self.add_set(Metric::BufferingTime, None, None, &b);
        }
        self.add(
            Metric::UserRecordsPerPutRecordsRequest,
            None,
            records.len() as u64,
        );
        let kinesis_records = entries.map_or(records.len(), <[Entry]>::len);
        self.add(
            Metric::KinesisRecordsPerPutRecordsRequest,
            None,
            kinesis_records as u64,
        );
        match entries {
            Some(entries) => {
                for e in entries {
                    self.add(
                        Metric::UserRecordsPerKinesisRecord,
                        e.shard.as_ref(),
                        e.len as u64,
                    );
                }
            }
            // One user record in each Kinesis record: as many samples of 1.
            None if !records.is_empty() => {
                let n = records.len() as u64;
                let ones = StatisticSet {
                    count: n,
                    sum: n,
                    min: 1,
                    max: 1,
                };
                self.add_set(Metric::UserRecordsPerKinesisRecord, None, None, &ones);
            }
            None => {}
        }
    }

    /// A Kinesis record of `size` bytes was stored on `shard`, or (`None`) failed: a failure
    /// counts 0, so the average is the success rate.
    pub fn kinesis_record(&mut self, size: usize, shard: Option<&Rc<str>>) {
        let stored = u64::from(shard.is_some());
        self.add(Metric::KinesisRecordsPut, shard, stored);
        self.add(Metric::KinesisRecordsDataPut, shard, stored * size as u64);
    }

    /// A user record settled: put (1, or 0 when it failed), its bytes, its retries, and why it
    /// failed.
    pub fn settled(&mut self, q: &Queued, outcome: &Outcome) {
        if !self.enabled() {
            return;
        }
        let (shard, failure) = match outcome {
            Outcome::Acked(ack) => (Some(&ack.shard_id), None),
            Outcome::Failed(f) => (None, Some(f)),
        };
        let stored = u64::from(failure.is_none());
        self.add(Metric::UserRecordsPut, shard, stored);
        self.add(
            Metric::UserRecordsDataPut,
            shard,
            stored * q.record.size() as u64,
        );
        self.add(Metric::RetriesPerRecord, shard, u64::from(q.attempts));
        if let Some(f) = failure {
            if f.code == ErrorCode::Expired {
                self.add(Metric::UserRecordExpired, None, 1);
            }
            self.error(f);
        }
    }

    /// Add what another producer gathered (one accumulator per page or isolate).
    pub fn absorb(&mut self, mut other: Metrics) {
        for (key, set) in other.take() {
            self.merge(key, &set);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.scopes
            .iter()
            .all(|(_, sets)| sets.iter().all(Option::is_none))
            && self.coded.is_empty()
    }

    /// The statistic sets gathered so far, by scope (global, stream, then each shard's) and
    /// metric, then the coded ones; the next interval starts empty.
    pub fn take(&mut self) -> Vec<(Key, StatisticSet)> {
        let mut out = Vec::new();
        for (i, (shard, sets)) in std::mem::take(&mut self.scopes).into_iter().enumerate() {
            for (metric, set) in Metric::ALL.into_iter().zip(sets) {
                let key = Key {
                    metric,
                    stream: i > 0,
                    shard: shard.clone(),
                    code: None,
                };
                out.extend(set.map(|set| (key, set)));
            }
        }
        out.append(&mut self.coded);
        out
    }

    pub fn enabled(&self) -> bool {
        self.level.is_some()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::core::model::endpoint::Endpoint;

    fn config(level: MetricsLevel, granularity: Granularity) -> MetricsConfig {
        MetricsConfig {
            level,
            granularity,
            namespace: "N".into(),
            interval_ms: 60_000,
            dimensions: Vec::new(),
            endpoint: Endpoint::for_service("monitoring", "us-east-1"),
        }
    }

    pub(crate) fn find(
        sets: &[(Key, StatisticSet)],
        m: Metric,
        stream: bool,
        shard: Option<&str>,
    ) -> Option<StatisticSet> {
        sets.iter()
            .find(|(k, _)| k.metric == m && k.stream == stream && k.shard.as_deref() == shard)
            .map(|(_, s)| *s)
    }

    #[test]
    fn statistic_sets_at_every_granularity_up_to_the_configured_one() {
        let mut m = Metrics::new(Some(&config(MetricsLevel::Summary, Granularity::Shard)));
        let shard: Rc<str> = "shardId-000000000001".into();
        m.add(Metric::UserRecordsPut, Some(&shard), 1);
        m.add(Metric::UserRecordsPut, Some(&shard), 0);
        m.add(Metric::UserRecordsPut, None, 1);
        m.add(Metric::RequestTime, None, 5); // detailed only
        let sets = m.take();
        let global = StatisticSet {
            count: 3,
            sum: 2,
            min: 0,
            max: 1,
        };
        assert_eq!(
            find(&sets, Metric::UserRecordsPut, false, None),
            Some(global)
        );
        assert_eq!(
            find(&sets, Metric::UserRecordsPut, true, None),
            Some(global)
        );
        let on_shard = StatisticSet {
            count: 2,
            sum: 1,
            min: 0,
            max: 1,
        };
        assert_eq!(
            find(
                &sets,
                Metric::UserRecordsPut,
                true,
                Some("shardId-000000000001")
            ),
            Some(on_shard)
        );
        assert_eq!(sets.len(), 3, "no RequestTime at summary");
        assert!(m.is_empty());
    }

    #[test]
    fn stream_granularity_has_no_shard_and_none_gathers_nothing() {
        let mut m = Metrics::new(Some(&config(MetricsLevel::Detailed, Granularity::Stream)));
        let failure = Failure {
            aws_code: Some("InternalFailure".into()),
            ..Failure::new(
                ErrorCode::ServiceUnavailable,
                crate::core::RetryClass::Transient,
                "x",
            )
        };
        m.error(&failure);
        let sets = m.take();
        assert_eq!(
            sets.len(),
            4,
            "ErrorsByCode and AllErrors, global and stream"
        );
        assert!(sets.iter().all(|(k, _)| k.shard.is_none()));
        assert!(sets
            .iter()
            .any(|(k, _)| k.code.as_deref() == Some("InternalFailure")));

        let mut none = Metrics::new(None);
        none.add(Metric::UserRecordsPut, None, 1);
        none.add(Metric::AllErrors, None, 1);
        assert!(none.is_empty() && !none.enabled());
    }

    #[test]
    fn every_metric_has_its_place() {
        for (i, m) in Metric::ALL.into_iter().enumerate() {
            assert_eq!(m as usize, i, "{m:?}");
        }
    }

    #[test]
    fn absorbing_merges_equal_keys() {
        let c = config(MetricsLevel::Summary, Granularity::Global);
        let (mut a, mut b) = (Metrics::new(Some(&c)), Metrics::new(Some(&c)));
        a.add(Metric::BufferingTime, None, 10);
        b.add(Metric::BufferingTime, None, 30);
        a.absorb(b);
        let sets = a.take();
        assert_eq!(sets.len(), 1);
        assert_eq!(
            sets[0].1,
            StatisticSet {
                count: 2,
                sum: 40,
                min: 10,
                max: 30
            }
        );
    }
}
