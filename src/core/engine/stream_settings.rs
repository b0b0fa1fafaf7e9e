//! What the producer knows of its stream and when it asks again (`DescribeStreamSummary`):
//! whether the stream takes writes yet (`CREATING` is waited for), whether the service places
//! records itself (`AUTO`: aggregation is off before the first aggregate), and its record
//! limit. Plain records never wait for the answer; only records larger than every stream takes
//! (1 MiB), and records without a partition key (which only an `AUTO` stream takes), are held
//! until it says whether this one does.

use crate::core::engine::events::RequestId;
use crate::core::engine::queue::Queued;
use crate::core::kinesis::describe_stream;
use crate::core::model::config::Limits;
use crate::core::model::error::{Error, ErrorCode, Failure, RecordError, RetryClass};
use crate::core::model::stream::{StreamSettings, StreamStatus, DEFAULT_STREAM_RECORD_BYTES};
use crate::core::model::target::StreamTarget;
use crate::core::Millis;

/// Another producer of the stream (in the same page or isolate) takes the settings as they are
/// for this long instead of asking: the call is limited to 20 per second per account.
pub const SETTINGS_REUSE_MS: u64 = 60_000;
/// A stream being created is asked about again this often.
pub const CREATING_POLL_MS: u64 = 1_000;
/// After a failed call (throttled, unavailable), the next waits this long.
pub const DESCRIBE_RETRY_MS: u64 = 5_000;
/// Calls failing this many times in a row before the first answer leave the settings unknown
/// (limits assumed) rather than hold records and aggregates longer.
const UNKNOWN_TRIES: u32 = 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    /// The `streamSettings` option: never asked.
    Given,
    /// Not asked yet, or asking.
    Unknown,
    /// The stream's answer (or another producer's) at `at`.
    Described { at: Millis },
    /// The call is refused (no permission) or failing: limits are assumed.
    Unavailable,
}

/// What an answer decided.
#[derive(Debug, Default)]
pub struct Verdict {
    /// Records to send after all.
    pub send: Vec<Queued>,
    /// Records refused by the stream's settings, or because the stream is gone.
    pub refuse: Vec<(Queued, Failure)>,
    /// The stream does not exist (or is being deleted): everything buffered settles `NotFound`.
    pub missing: Option<Failure>,
    /// The answer changed whether the service places records itself.
    pub auto_distribution: Option<bool>,
}

#[derive(Debug)]
pub struct StreamInfo {
    settings: StreamSettings,
    source: Source,
    /// The call in flight, if one is.
    request: Option<RequestId>,
    /// When the next call is due; `None`: not wanted.
    due_at: Option<Millis>,
    /// Asked again on this schedule while records flow (aggregation's map refresh).
    refresh_ms: Option<u64>,
    note: Option<String>,
    /// Calls that failed in a row.
    failures: u32,
    /// Records over 1 MiB or without a partition key, put before the settings were known.
    held: Vec<Queued>,
}

impl StreamInfo {
    pub fn new(given: Option<StreamSettings>, refresh_ms: Option<u64>) -> Self {
        Self {
            settings: given.unwrap_or_default(),
            source: if given.is_some() {
                Source::Given
            } else {
                Source::Unknown
            },
            request: None,
            due_at: given.is_none().then_some(0),
            refresh_ms,
            note: None,
            failures: 0,
            held: Vec::new(),
        }
    }

    /// Whether the settings are known or will not be (aggregation may start; held records
    /// were decided).
    pub fn settled(&self) -> bool {
        self.source != Source::Unknown
    }

    /// Writes must wait: the stream is being created.
    pub fn creating(&self) -> bool {
        self.settled() && self.settings.status == StreamStatus::Creating
    }

    pub fn auto_distribution(&self) -> bool {
        self.settled() && self.settings.auto_distribution
    }

    pub fn note(&self) -> Option<&str> {
        self.note.as_deref()
    }

    /// The settings as described and when, for other producers of the stream to adopt.
    pub fn described(&self) -> Option<(StreamSettings, Millis)> {
        match self.source {
            Source::Described { at } => Some((self.settings, at)),
            _ => None,
        }
    }

    /// Take settings another producer of the stream was told at `at`, if this one knows none
    /// yet and they are fresh: a short-lived producer need not ask again.
    pub fn adopt(&mut self, settings: StreamSettings, at: Millis, now: Millis) -> bool {
        let fresh = now < at.saturating_add(SETTINGS_REUSE_MS);
        if self.source != Source::Unknown || self.request.is_some() || !fresh {
            return false;
        }
        self.settings = settings;
        self.source = Source::Described { at };
        self.due_at = match settings.status {
            StreamStatus::Creating => Some(now),
            _ => self.refresh_ms.map(|r| at.saturating_add(r)),
        };
        true
    }

    /// The largest record `put` takes now.
    pub fn record_limit(&self, limits: &Limits) -> usize {
        match self.source {
            Source::Unknown => limits.max_record_bytes,
            Source::Unavailable => limits.assumed_record_bytes,
            Source::Given | Source::Described { .. } => {
                limits.max_record_bytes.min(self.settings.max_record_bytes)
            }
        }
    }

    /// Whether `put` takes a record without a partition key: on an `AUTO` stream, and while
    /// the settings are unknown (it is then held until they are).
    pub fn keys_optional(&self) -> bool {
        self.source == Source::Unknown || self.auto_distribution()
    }

    /// Whether a record `put` took waits for the settings: while they are unknown, one larger
    /// than every stream takes or without a partition key.
    pub fn holds(&self, q: &Queued) -> bool {
        self.source == Source::Unknown
            && (q.record.size() > DEFAULT_STREAM_RECORD_BYTES
                || q.record.partition_key().is_empty())
    }

    /// Keep `records` until the (next) answer decides them.
    pub fn hold(&mut self, records: impl IntoIterator<Item = Queued>) {
        self.held.extend(records);
    }

    pub fn held_records(&self) -> usize {
        self.held.len()
    }

    pub fn held_bytes(&self) -> usize {
        self.held.iter().map(|q| q.record.size()).sum()
    }

    /// When the oldest held record was accepted.
    pub fn oldest_held(&self) -> Option<Millis> {
        self.held.iter().map(|q| q.accepted_at).min()
    }

    /// Take out the held records whose time to live (`ttl`) is over at `now`.
    pub fn take_expired(&mut self, now: Millis, ttl: u64) -> Vec<Queued> {
        let (expired, kept) = std::mem::take(&mut self.held)
            .into_iter()
            .partition(|q| q.accepted_at.saturating_add(ttl) <= now);
        self.held = kept;
        expired
    }

    pub fn take_held(&mut self) -> Vec<Queued> {
        std::mem::take(&mut self.held)
    }

    /// When the next call is due (`None`: not wanted, or one is in flight): at once for a new
    /// producer with records to send, while the stream is being created, and on the refresh
    /// schedule while records flow.
    pub fn due_at(&self, records_waiting: bool) -> Option<Millis> {
        if self.request.is_some() || (!records_waiting && self.held.is_empty()) {
            return None;
        }
        self.due_at
    }

    /// The body of the call due now, marked in flight as `request`.
    pub fn body(
        &mut self,
        target: &StreamTarget,
        request: RequestId,
        records_waiting: bool,
        now: Millis,
    ) -> Option<Vec<u8>> {
        if self.due_at(records_waiting)? > now {
            return None;
        }
        self.request = Some(request);
        Some(describe_stream::body(target))
    }

    /// Whether records `PutRecords` answered as not found wait for the (next) answer instead of
    /// settling `NotFound`: while the settings are being asked for, or say the stream is being
    /// created (a stream just created answers so until it is active).
    pub fn holds_not_found(&self) -> bool {
        (self.request.is_some() && self.source == Source::Unknown) || self.creating()
    }

    /// The answer to the call: the settings, or why there are none.
    pub fn on_answer(
        &mut self,
        answer: Result<StreamSettings, Failure>,
        limits: &Limits,
        now: Millis,
    ) -> Verdict {
        self.request = None;
        let was_auto = self.auto_distribution();
        let mut verdict = Verdict::default();
        match answer {
            Ok(s) if s.status == StreamStatus::Deleting => {
                verdict.missing = Some(Failure::new(
                    ErrorCode::NotFound,
                    RetryClass::Terminal,
                    "the stream is being deleted (DescribeStreamSummary: DELETING)",
                ));
                self.forget(now);
            }
            Ok(s) => {
                self.failures = 0;
                self.settings = s;
                self.source = Source::Described { at: now };
                self.note = None;
                self.due_at = match s.status {
                    StreamStatus::Creating => Some(now.saturating_add(CREATING_POLL_MS)),
                    _ => self.refresh_ms.map(|r| now.saturating_add(r)),
                };
            }
            Err(f) if f.code == ErrorCode::NotFound => {
                verdict.missing = Some(f);
                self.forget(now);
            }
            // Throttled or failing (the call is limited to 20 per second per account): asked
            // again, and what is known stays known; records held and aggregates wait for the
            // first answer through a few tries only.
            Err(f)
                if f.retry.is_retryable()
                    && (self.source != Source::Unknown || self.failures < UNKNOWN_TRIES) =>
            {
                self.failures += 1;
                self.due_at = Some(now.saturating_add(DESCRIBE_RETRY_MS));
                return verdict;
            }
            Err(f) => {
                self.source = Source::Unavailable;
                self.due_at = f
                    .retry
                    .is_retryable()
                    .then_some(now.saturating_add(DESCRIBE_RETRY_MS));
                self.note = Some(format!(
                    "stream settings unknown (DescribeStreamSummary failed: {f}); records are checked against {} bytes and AUTO record distribution is found only when aggregates land on unexpected shards",
                    limits.assumed_record_bytes
                ));
            }
        }
        if self.auto_distribution() != was_auto {
            verdict.auto_distribution = Some(self.auto_distribution());
        }
        let limit = self.record_limit(limits);
        for q in self.take_held() {
            let error = if q.record.size() > limit {
                Some(RecordError::TooLarge {
                    size: q.record.size(),
                    limit,
                })
            } else if q.record.partition_key().is_empty() && !self.auto_distribution() {
                Some(RecordError::PartitionKeyRequired)
            } else {
                None
            };
            match (&verdict.missing, error) {
                (Some(f), _) => verdict.refuse.push((q, f.clone())),
                (None, Some(e)) => verdict.refuse.push((q, Error::from(e).to_failure())),
                (None, None) => verdict.send.push(q),
            }
        }
        verdict
    }

    /// The stream is gone: ask again after a while, should records still come (it may be
    /// created again).
    fn forget(&mut self, now: Millis) {
        self.source = Source::Unknown;
        self.settings = StreamSettings::default();
        self.due_at = Some(now.saturating_add(DESCRIBE_RETRY_MS));
    }
}
