//! `PutMetricData` in the query protocol: `Action=PutMetricData&Version=2010-08-01&Namespace=..`
//! then `MetricData.member.N.*` per datum, each a statistic set (`StatisticValues`), split into
//! as many bodies as the per-call limits need (1,000 metrics, 1 MB).

use crate::core::calendar::civil_from_days;
use crate::core::sigv4::canonical::encode;
use crate::core::Millis;

/// Metrics one call takes.
pub const MAX_METRICS: usize = 1_000;
/// Body bytes one call takes (1 MB; counted in decimal to stay clear of it).
pub const MAX_BODY_BYTES: usize = 1_000_000;

/// SampleCount, Sum, Minimum, Maximum of the values seen. Whole numbers: every metric counts
/// records, bytes or milliseconds (and no float formatting is needed to send them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatisticSet {
    pub count: u64,
    pub sum: u64,
    pub min: u64,
    pub max: u64,
}

impl StatisticSet {
    pub fn of(value: u64) -> Self {
        Self {
            count: 1,
            sum: value,
            min: value,
            max: value,
        }
    }

    pub fn merge(&mut self, other: &Self) {
        self.count += other.count;
        self.sum = self.sum.saturating_add(other.sum);
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }
}

/// One metric's statistic set under one dimension set.
pub struct Datum<'a> {
    pub name: &'a str,
    pub unit: &'a str,
    pub dimensions: Vec<(&'a str, &'a str)>,
    pub values: StatisticSet,
}

/// `YYYY-MM-DDTHH:MM:SSZ` for epoch milliseconds.
fn iso_time(ms: Millis) -> String {
    let secs = ms / 1000;
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    let mut out = String::with_capacity(20);
    // Zero-padded by hand: width flags would pull in more of the formatter.
    for (value, after) in [
        (y as u64, '-'),
        (u64::from(m), '-'),
        (u64::from(d), 'T'),
        (rem / 3600, ':'),
        (rem % 3600 / 60, ':'),
        (rem % 60, 'Z'),
    ] {
        if value < 10 {
            out.push('0');
        }
        out.push_str(&value.to_string());
        out.push(after);
    }
    out
}

/// `&prefix.name=value`, the value form-encoded.
fn field(out: &mut String, prefix: &str, name: &str, value: &str) {
    out.push('&');
    out.push_str(prefix);
    out.push_str(name);
    out.push('=');
    encode(value, false, out);
}

/// The fields of member `index` of a body.
fn member(index: usize, datum: &Datum<'_>, timestamp: &str) -> String {
    let prefix = format!("MetricData.member.{index}.");
    let mut out = String::new();
    field(&mut out, &prefix, "MetricName", datum.name);
    field(&mut out, &prefix, "Unit", datum.unit);
    field(&mut out, &prefix, "Timestamp", timestamp);
    for (j, (name, value)) in datum.dimensions.iter().enumerate() {
        let dimension = format!("{prefix}Dimensions.member.{}.", j + 1);
        field(&mut out, &dimension, "Name", name);
        field(&mut out, &dimension, "Value", value);
    }
    let v = datum.values;
    for (name, value) in [
        ("StatisticValues.SampleCount", v.count),
        ("StatisticValues.Sum", v.sum),
        ("StatisticValues.Minimum", v.min),
        ("StatisticValues.Maximum", v.max),
    ] {
        field(&mut out, &prefix, name, &value.to_string());
    }
    out
}

/// The bodies that publish `data` in `namespace`, stamped `timestamp_ms`, each with how many
/// metrics it holds; none for no data.
pub fn bodies<'a>(
    namespace: &str,
    timestamp_ms: Millis,
    data: impl IntoIterator<Item = Datum<'a>>,
) -> Vec<(Vec<u8>, u64)> {
    let mut head = String::from("Action=PutMetricData&Version=2010-08-01");
    field(&mut head, "", "Namespace", namespace);
    let timestamp = iso_time(timestamp_ms);
    let mut out = Vec::new();
    let (mut body, mut members) = (head.clone(), 0);
    for datum in data {
        let mut fields = member(members + 1, &datum, &timestamp);
        if members == MAX_METRICS || body.len() + fields.len() > MAX_BODY_BYTES {
            let full = std::mem::replace(&mut body, head.clone()).into_bytes();
            out.push((full, members as u64));
            members = 0;
            fields = member(1, &datum, &timestamp);
        }
        body.push_str(&fields);
        members += 1;
    }
    if members > 0 {
        out.push((body.into_bytes(), members as u64));
    }
    out
}

/// The answer to a call: `Ok` for a 2xx status, else the error's `<Code>` (or the status).
pub fn read_answer(status: u16, body: &[u8]) -> Result<(), String> {
    if (200..300).contains(&status) {
        return Ok(());
    }
    let find = |from: usize, needle: &[u8]| {
        let rest = body.get(from..)?;
        rest.windows(needle.len())
            .position(|w| w == needle)
            .map(|at| from + at)
    };
    let code = find(0, b"<Code>")
        .map(|at| at + 6)
        .and_then(|start| Some((start, find(start, b"</Code>")?)))
        .and_then(|(start, end)| std::str::from_utf8(body.get(start..end)?).ok())
        .filter(|c| !c.is_empty() && c.len() < 100);
    Err(match code {
        Some(code) => format!("{code} (HTTP {status})"),
        None => format!("HTTP {status}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn datum(name: &str, dims: Vec<(&'static str, &'static str)>) -> Datum<'static> {
        Datum {
            name: Box::leak(name.to_owned().into_boxed_str()),
            unit: "Count",
            dimensions: dims,
            values: StatisticSet {
                count: 3,
                sum: 2,
                min: 0,
                max: 1,
            },
        }
    }

    #[test]
    fn a_statistic_set_with_its_dimensions() {
        let bodies = bodies(
            "Kinesis Producer",
            1_440_938_160_000,
            [datum(
                "UserRecordsPut",
                vec![("StreamName", "a/b"), ("ShardId", "shardId-1")],
            )],
        );
        assert_eq!(bodies.len(), 1);
        assert_eq!(bodies[0].1, 1);
        assert_eq!(
            String::from_utf8(bodies[0].0.clone()).unwrap(),
            "Action=PutMetricData&Version=2010-08-01&Namespace=Kinesis%20Producer\
             &MetricData.member.1.MetricName=UserRecordsPut&MetricData.member.1.Unit=Count\
             &MetricData.member.1.Timestamp=2015-08-30T12%3A36%3A00Z\
             &MetricData.member.1.Dimensions.member.1.Name=StreamName\
             &MetricData.member.1.Dimensions.member.1.Value=a%2Fb\
             &MetricData.member.1.Dimensions.member.2.Name=ShardId\
             &MetricData.member.1.Dimensions.member.2.Value=shardId-1\
             &MetricData.member.1.StatisticValues.SampleCount=3\
             &MetricData.member.1.StatisticValues.Sum=2\
             &MetricData.member.1.StatisticValues.Minimum=0\
             &MetricData.member.1.StatisticValues.Maximum=1"
        );
        assert!(super::bodies("N", 0, []).is_empty());
        assert_eq!(iso_time(951_782_400_000), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn split_at_1000_metrics_and_at_1_mb() {
        let many = (0..2_500).map(|i| datum(&format!("M{i}"), vec![]));
        let bodies = bodies("N", 0, many);
        assert_eq!(bodies.len(), 3);
        let counts: Vec<u64> = bodies.iter().map(|(_, n)| *n).collect();
        assert_eq!(counts, [1_000, 1_000, 500]);
        let text = String::from_utf8(bodies[2].0.clone()).unwrap();
        assert!(text.contains("member.500.MetricName=M2499") && !text.contains("member.501."));
        assert!(String::from_utf8(bodies[1].0.clone())
            .unwrap()
            .contains("member.1.MetricName=M1000&"));

        let long: &'static str = Box::leak("v".repeat(1_000).into_boxed_str());
        let wide = (0..2_000).map(|i| datum(&format!("M{i}"), vec![("D", long)]));
        let bodies = super::bodies("N", 0, wide);
        assert!(
            bodies.len() >= 3,
            "about 1.3 KB a datum: under 1,000 per MB"
        );
        assert!(bodies.iter().all(|(b, _)| b.len() <= MAX_BODY_BYTES));
        assert_eq!(bodies.iter().map(|(_, n)| n).sum::<u64>(), 2_000);
    }

    #[test]
    fn answers() {
        assert_eq!(read_answer(200, b""), Ok(()));
        let refused = b"<ErrorResponse><Error><Code>AccessDenied</Code></Error></ErrorResponse>";
        assert_eq!(
            read_answer(403, refused),
            Err("AccessDenied (HTTP 403)".into())
        );
        assert_eq!(read_answer(500, b"oops"), Err("HTTP 500".into()));
    }
}
