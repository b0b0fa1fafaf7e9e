//! The producer's hooks into its metrics, driven as a host drives it.

use crate::core::cloudwatch::put_metric_data::StatisticSet;
use crate::core::engine::metrics::tests::find;
use crate::core::engine::metrics::Metric;
use crate::core::engine::producer::tests::{answer, producer, rec, status};

#[test]
fn the_producer_counts_as_the_kpl_does() {
    const OK: &str = r#"{"SequenceNumber":"1","ShardId":"shardId-0"}"#;
    const THROTTLED: &str =
        r#"{"ErrorCode":"ProvisionedThroughputExceededException","ErrorMessage":"slow"}"#;
    let mut p = producer(r#""metrics":{"level":"detailed","granularity":"shard"}"#);
    for key in ["a", "b", "c"] {
        p.put(rec(key), 1_000).unwrap();
    }
    let t = p.poll_transmit(1_100).unwrap();
    p.handle_answer(t.id, status(200, &answer(&[OK, THROTTLED, OK])), 1_130);
    let t = p.poll_transmit(10_000).unwrap();
    p.handle_answer(t.id, status(200, &answer(&[OK])), 10_010);
    let sets = p.take_metrics(true).take();
    let global = |m: Metric| find(&sets, m, false, None).unwrap();
    let set = |count, sum, min, max| StatisticSet {
        count,
        sum,
        min,
        max,
    };
    assert_eq!(global(Metric::UserRecordsReceived), set(3, 3, 1, 1));
    assert_eq!(global(Metric::UserRecordsPut), set(3, 3, 1, 1));
    assert_eq!(
        global(Metric::KinesisRecordsPut),
        set(4, 3, 0, 1),
        "the throttled one counts 0"
    );
    assert_eq!(global(Metric::RetriesPerRecord), set(3, 1, 0, 1));
    assert_eq!(
        global(Metric::BufferingTime),
        set(3, 300, 100, 100),
        "first send only"
    );
    assert_eq!(global(Metric::RequestTime), set(2, 40, 10, 30));
    assert_eq!(
        global(Metric::KinesisRecordsPerPutRecordsRequest),
        set(2, 4, 1, 3)
    );
    assert_eq!(global(Metric::UserRecordsPending), set(1, 0, 0, 0));
    assert_eq!(global(Metric::AllErrors), set(1, 1, 1, 1));
    let by_code = sets
        .iter()
        .find(|(k, _)| k.metric == Metric::ErrorsByCode && !k.stream)
        .unwrap();
    assert_eq!(
        by_code.0.code.as_deref(),
        Some("ProvisionedThroughputExceededException")
    );
    let on_shard = find(&sets, Metric::UserRecordsPut, true, Some("shardId-0"));
    assert_eq!(on_shard, Some(set(3, 3, 1, 1)));
    assert!(
        p.take_metrics(true).take().len() == 2,
        "a new interval: the pending sample, global and stream"
    );

    let mut off = producer("");
    off.put(rec("a"), 0).unwrap();
    assert!(
        off.take_metrics(true).take().is_empty(),
        "level none: nothing gathered"
    );
}
