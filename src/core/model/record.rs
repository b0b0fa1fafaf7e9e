//! Records and the rules Kinesis sets for them. A record's bytes live in a shared chunk: every
//! record of one `put` batch points into the buffer that batch arrived in, so accepting 500
//! records copies nothing and allocates once.

use std::ops::Range;
use std::rc::Rc;

use md5::{Digest, Md5};

use crate::core::model::error::RecordError;

/// Partition keys: 1 to 256 Unicode characters (scalar values, not UTF-16 units or bytes).
pub const MAX_PARTITION_KEY_CHARS: usize = 256;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Span {
    start: u32,
    end: u32,
}

impl Span {
    fn of(range: Range<usize>) -> Self {
        Self {
            start: range.start as u32,
            end: range.end as u32,
        }
    }

    fn range(self) -> Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// A record: data, partition key and optional explicit hash key.
#[derive(Clone)]
pub struct Record {
    chunk: Rc<Vec<u8>>,
    data: Span,
    key: Span,
    hash_key: Option<Span>,
}

impl std::fmt::Debug for Record {
    // Readings may be personal data: print their size, not their bytes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Record")
            .field("data_len", &self.data().len())
            .field("partition_key", &self.partition_key())
            .field("explicit_hash_key", &self.explicit_hash_key())
            .finish()
    }
}

impl PartialEq for Record {
    fn eq(&self, other: &Self) -> bool {
        self.data() == other.data()
            && self.partition_key() == other.partition_key()
            && self.explicit_hash_key() == other.explicit_hash_key()
    }
}

impl AsRef<Record> for Record {
    fn as_ref(&self) -> &Record {
        self
    }
}

impl Record {
    /// A record in a chunk of its own.
    pub fn new(data: &[u8], partition_key: &str, explicit_hash_key: Option<&str>) -> Self {
        let mut bytes = data.to_vec();
        Self::appending_keys(&mut bytes, data.len(), partition_key, explicit_hash_key)
    }

    /// A record whose data is `data` (moved, not copied), the keys appended after it.
    pub fn with_data(data: Vec<u8>, partition_key: &str, explicit_hash_key: Option<&str>) -> Self {
        let len = data.len();
        let mut bytes = data;
        Self::appending_keys(&mut bytes, len, partition_key, explicit_hash_key)
    }

    fn appending_keys(
        bytes: &mut Vec<u8>,
        data_len: usize,
        partition_key: &str,
        explicit_hash_key: Option<&str>,
    ) -> Self {
        let key_start = bytes.len();
        bytes.extend_from_slice(partition_key.as_bytes());
        let key = Span::of(key_start..bytes.len());
        let hash_key = explicit_hash_key.map(|h| {
            let start = bytes.len();
            bytes.extend_from_slice(h.as_bytes());
            Span::of(start..bytes.len())
        });
        Self {
            chunk: Rc::new(std::mem::take(bytes)),
            data: Span::of(0..data_len),
            key,
            hash_key,
        }
    }

    /// A record whose parts lie in `chunk` at the given ranges. The keys must be UTF-8.
    pub fn in_chunk(
        chunk: &Rc<Vec<u8>>,
        data: Range<usize>,
        key: Range<usize>,
        hash_key: Option<Range<usize>>,
    ) -> Result<Self, RecordError> {
        let text = |r: &Range<usize>| {
            chunk
                .get(r.clone())
                .is_some_and(|b| std::str::from_utf8(b).is_ok())
        };
        if chunk.get(data.clone()).is_none() || !text(&key) || !hash_key.iter().all(text) {
            return Err(RecordError::Layout);
        }
        Ok(Self {
            chunk: Rc::clone(chunk),
            data: Span::of(data),
            key: Span::of(key),
            hash_key: hash_key.map(Span::of),
        })
    }

    #[inline(always)]
    pub fn data(&self) -> &[u8] {
        &self.chunk[self.data.range()]
    }

    #[inline(always)]
    fn text(&self, span: Span) -> &str {
        let bytes = &self.chunk[span.range()];
        // SAFETY: every constructor checks (or, from a `&str`, knows) that the key spans are
        // UTF-8, and neither the chunk nor the spans change after. Checking again on every read
        // was measurable on the hot path (keys are read several times per record).
        unsafe { std::str::from_utf8_unchecked(bytes) }
    }

    #[inline(always)]
    pub fn partition_key(&self) -> &str {
        self.text(self.key)
    }

    #[inline(always)]
    pub fn explicit_hash_key(&self) -> Option<&str> {
        self.hash_key.map(|s| self.text(s))
    }

    /// Size as Kinesis counts it against the record limit: data bytes plus key bytes.
    #[inline(always)]
    pub fn size(&self) -> usize {
        (self.data.end - self.data.start + self.key.end - self.key.start) as usize
    }

    /// Check the key, the hash key and the size against Kinesis's rules and `max_record_bytes`.
    /// A record without a partition key (empty) passes when `keyless` (an AUTO stream).
    pub fn validate(&self, max_record_bytes: usize, keyless: bool) -> Result<(), RecordError> {
        // UTF-8 lead bytes are the characters (`chars().count()` links a vectorised counter).
        let chars = self
            .partition_key()
            .bytes()
            .filter(|b| b & 0xC0 != 0x80)
            .count();
        if chars == 0 && !keyless {
            return Err(RecordError::PartitionKeyRequired);
        }
        if chars > MAX_PARTITION_KEY_CHARS {
            return Err(RecordError::PartitionKeyLength { chars });
        }
        if let Some(key) = self.explicit_hash_key() {
            parse_hash_key(key)?;
        }
        let size = self.size();
        if size > max_record_bytes {
            return Err(RecordError::TooLarge {
                size,
                limit: max_record_bytes,
            });
        }
        Ok(())
    }

    /// The hash key that places the record on a shard: its explicit hash key, else the MD5 of
    /// its partition key's UTF-8 bytes read as a 128-bit big-endian number.
    pub fn hash_key(&self) -> u128 {
        if let Some(Ok(key)) = self.explicit_hash_key().map(parse_hash_key) {
            return key;
        }
        u128::from_be_bytes(Md5::digest(self.partition_key().as_bytes()).into())
    }
}

/// Parse an explicit hash key: `0|([1-9]\d{0,38})` and at most 2^128-1.
pub fn parse_hash_key(key: &str) -> Result<u128, RecordError> {
    let shown = || RecordError::ExplicitHashKey {
        shown: key.chars().take(48).collect(),
    };
    let digits_ok = !key.is_empty()
        && key.len() <= 39
        && key.bytes().all(|b| b.is_ascii_digit())
        && (key == "0" || !key.starts_with('0'));
    if !digits_ok {
        return Err(shown());
    }
    // By hand: `u128::from_str` and `checked_mul` on u128 are software routines in wasm.
    let mut limbs = [0u32; 4];
    for d in key.bytes().map(|b| u64::from(b - b'0')) {
        let mut carry = d;
        for limb in limbs.iter_mut().rev() {
            let v = u64::from(*limb) * 10 + carry;
            *limb = v as u32;
            carry = v >> 32;
        }
        if carry != 0 {
            return Err(shown());
        }
    }
    Ok(limbs
        .iter()
        .fold(0u128, |acc, &l| (acc << 32) | u128::from(l)))
}

/// `v` in decimal, by long division of 32-bit limbs: `u128` division and formatting are
/// software routines in wasm, kilobytes of code for one use.
pub fn decimal(v: u128) -> String {
    const CHUNK: u64 = 1_000_000_000;
    let mut limbs = [
        (v >> 96) as u32,
        (v >> 64) as u32,
        (v >> 32) as u32,
        v as u32,
    ];
    let mut chunks = Vec::new();
    loop {
        let mut rem = 0u64;
        for limb in &mut limbs {
            let cur = rem << 32 | u64::from(*limb);
            *limb = (cur / CHUNK) as u32;
            rem = cur % CHUNK;
        }
        chunks.push(rem as u32);
        if limbs == [0; 4] {
            break;
        }
    }
    let mut out = String::with_capacity(chunks.len() * 9);
    for (i, chunk) in chunks.iter().rev().enumerate() {
        let digits = chunk.to_string();
        if i > 0 {
            out.extend(std::iter::repeat_n('0', 9 - digits.len()));
        }
        out.push_str(&digits);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(data: usize, key: &str) -> Record {
        Record::new(&vec![b'x'; data], key, None)
    }

    #[test]
    fn partition_key_edges() {
        assert!(rec(1, &"k".repeat(256)).validate(1 << 20, false).is_ok());
        assert_eq!(
            rec(1, &"k".repeat(257)).validate(1 << 20, false),
            Err(RecordError::PartitionKeyLength { chars: 257 })
        );
        assert_eq!(
            rec(1, "").validate(1 << 20, false),
            Err(RecordError::PartitionKeyRequired)
        );
        // 256 four-byte characters are 1024 bytes but 256 characters: allowed.
        assert!(rec(1, &"𝄞".repeat(256)).validate(1 << 20, false).is_ok());
        assert!(rec(1, &"é".repeat(257)).validate(1 << 20, false).is_err());
    }

    #[test]
    fn empty_data_is_allowed() {
        assert!(rec(0, "k").validate(1 << 20, false).is_ok());
    }

    #[test]
    fn hash_key_edges() {
        assert_eq!(parse_hash_key("0"), Ok(0));
        assert_eq!(
            parse_hash_key("12345678901234567890123"),
            Ok(12345678901234567890123)
        );
        assert_eq!(
            parse_hash_key("340282366920938463463374607431768211455"),
            Ok(u128::MAX)
        );
        for bad in [
            "340282366920938463463374607431768211456",
            "999999999999999999999999999999999999999",
            "",
            "01",
            "-1",
            "1.0",
            " 1",
            "1e3",
            "0x10",
        ] {
            assert!(parse_hash_key(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn decimal_round_trips() {
        for v in [0, 1, 999_999_999, 1_000_000_000, u128::MAX / 3, u128::MAX] {
            assert_eq!(decimal(v), v.to_string());
            assert_eq!(parse_hash_key(&decimal(v)), Ok(v));
        }
    }

    #[test]
    fn record_size_edges() {
        assert!(rec(999, "k").validate(1000, false).is_ok());
        assert_eq!(
            rec(1000, "k").validate(1000, false),
            Err(RecordError::TooLarge {
                size: 1001,
                limit: 1000
            })
        );
        // Multibyte keys count their UTF-8 bytes toward the record size.
        assert!(rec(996, "éé").validate(1000, false).is_ok());
        assert!(rec(997, "éé").validate(1000, false).is_err());
    }

    #[test]
    fn records_in_a_shared_chunk() {
        let chunk = Rc::new("datakeyé42".as_bytes().to_vec());
        let r = Record::in_chunk(&chunk, 0..4, 4..9, Some(9..11)).unwrap();
        assert_eq!(
            (r.data(), r.partition_key(), r.explicit_hash_key()),
            (&b"data"[..], "keyé", Some("42"))
        );
        assert_eq!(r.size(), 9);
        assert_eq!(
            Record::in_chunk(&chunk, 0..40, 4..9, None),
            Err(RecordError::Layout)
        );
        assert_eq!(
            Record::in_chunk(&chunk, 0..4, 4..8, None),
            Err(RecordError::Layout),
            "cuts é"
        );
        assert_eq!(r, Record::new(b"data", "keyé", Some("42")));
        assert_eq!(Record::with_data(b"data".to_vec(), "keyé", Some("42")), r);
    }

    #[test]
    fn hash_keys_place_records() {
        // MD5("device-1"), big-endian.
        let md5 = u128::from_be_bytes(Md5::digest(b"device-1").into());
        assert_eq!(Record::new(b"", "device-1", None).hash_key(), md5);
        assert_eq!(Record::new(b"", "device-1", Some("7")).hash_key(), 7);
    }

    #[test]
    fn debug_hides_data() {
        let shown = format!("{:?}", Record::new(b"secret reading", "device-1", None));
        assert!(
            shown.contains("data_len: 14") && !shown.contains("secret"),
            "{shown}"
        );
    }
}

// proptest is a native-only dev-dependency.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn hash_keys_parse_like_the_standard_library(key in "[0-9]{1,40}|[0-9a-z -]{0,5}") {
            let std = if key.len() > 1 && key.starts_with('0') { None } else { key.parse::<u128>().ok() };
            prop_assert_eq!(parse_hash_key(&key).ok(), std);
        }

        /// Any record is accepted or refused without a panic; an accepted one is within the limits.
        #[test]
        fn validation_never_panics(data_len in 0usize..3000, key in "\\PC{0,300}", limit in 1usize..4000) {
            let record = Record::new(&vec![0xab; data_len], &key, None);
            if record.validate(limit, false).is_ok() {
                prop_assert!((1..=MAX_PARTITION_KEY_CHARS).contains(&key.chars().count()));
                prop_assert!(record.size() <= limit);
            }
        }
    }
}
