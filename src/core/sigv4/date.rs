//! The SigV4 request time, `YYYYMMDD'T'HHMMSS'Z'`.

use crate::core::calendar::civil_from_days;
use crate::core::Millis;

/// `YYYYMMDD'T'HHMMSS'Z'` for epoch milliseconds (sub-seconds dropped).
pub fn amz_date(ms: Millis) -> String {
    let secs = ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    let mut out = String::with_capacity(16);
    for (value, width) in [
        (y as u64, 4usize),
        (u64::from(m), 2),
        (u64::from(d), 2),
        (u64::MAX, 0),
        (rem / 3600, 2),
        (rem % 3600 / 60, 2),
        (rem % 60, 2),
    ] {
        if width == 0 {
            out.push('T');
            continue;
        }
        // Zero-padded by hand: width and fill flags would pull in more of the formatter.
        let digits = value.to_string();
        out.extend(std::iter::repeat_n('0', width.saturating_sub(digits.len())));
        out.push_str(&digits);
    }
    out.push('Z');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(amz_date(0), "19700101T000000Z");
        assert_eq!(amz_date(1_440_938_160_000), "20150830T123600Z");
        assert_eq!(amz_date(951_782_399_999), "20000228T235959Z");
        assert_eq!(amz_date(951_782_400_000), "20000229T000000Z");
        assert_eq!(amz_date(4_102_444_800_000), "21000101T000000Z");
    }
}
