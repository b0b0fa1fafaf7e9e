//! The package's types say what the core gives: `index.d.ts`'s error codes are the core's
//! `ErrorCode`s, and `ProducerStats`'s fields are the core's stats (the spool's optional fields
//! aside, which the JS spool adds).

use std::collections::BTreeSet;

use kinesis_edge::core::{ErrorCode, Stats};

fn index_d_ts() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/pkg-templates/index.d.ts"
    ))
    .unwrap()
}

/// The text between `start` and the next `end` after it.
fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text.find(start).unwrap_or_else(|| panic!("no {start}")) + start.len();
    let to = from + text[from..].find(end).unwrap();
    &text[from..to]
}

#[test]
fn error_codes_are_the_cores() {
    let ts = index_d_ts();
    let union = between(&ts, "export type KinesisEdgeErrorCode =", ";");
    let declared: BTreeSet<&str> = union
        .split('|')
        .map(|s| s.trim().trim_matches('\''))
        .filter(|s| !s.is_empty())
        .collect();
    let core: BTreeSet<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(declared, core);
}

#[test]
fn stats_fields_are_the_cores() {
    let ts = index_d_ts();
    let body = between(&ts, "export interface ProducerStats {", "\n}");
    let (mut required, mut optional) = (BTreeSet::new(), BTreeSet::new());
    for line in body.lines().map(str::trim) {
        if line.starts_with("/**") || line.starts_with('*') || line.is_empty() {
            continue;
        }
        let name = line.split(':').next().unwrap().trim();
        match name.strip_suffix('?') {
            Some(n) => optional.insert(n.to_owned()),
            None => required.insert(name.to_owned()),
        };
    }
    let mut core: BTreeSet<String> = Stats::number_names().map(str::to_owned).collect();
    core.extend(
        [
            "failuresByCode",
            "aggregation",
            "aggregationNote",
            "streamNote",
        ]
        .map(str::to_owned),
    );
    assert_eq!(
        required, core,
        "every stat the core gives, and only those, is declared"
    );
    let spool: BTreeSet<String> = [
        "spooledRecords",
        "spooledBytes",
        "spoolOverflowRecords",
        "spoolResent",
        "spoolError",
        // With `metrics`: the boundary's `metricsStats`.
        "metricsUploads",
        "metricsFailedUploads",
        "metricsDropped",
        "metricsError",
    ]
    .map(str::to_owned)
    .into();
    assert_eq!(
        optional, spool,
        "the optional fields are the spool's and the metrics'"
    );
}
