//! User records and their validation against the `PutRecords` limits.

use crate::core::body;
use crate::core::config::Limits;
use crate::core::error::RecordError;

/// One record as the caller gave it.
#[derive(Clone, PartialEq, Eq)]
pub struct Record {
    pub data: Vec<u8>,
    pub partition_key: String,
    pub explicit_hash_key: Option<String>,
}

impl std::fmt::Debug for Record {
    // Readings may be personal data: print their size, not their bytes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Record")
            .field("data_len", &self.data.len())
            .field("partition_key", &self.partition_key)
            .field("explicit_hash_key", &self.explicit_hash_key)
            .finish()
    }
}

/// Partition keys: 1 to 256 Unicode characters (scalar values, not UTF-16 units or bytes).
pub const MAX_PARTITION_KEY_CHARS: usize = 256;

impl Record {
    /// Size as Kinesis counts it against the record limit: data bytes plus key bytes.
    pub fn size(&self) -> usize {
        self.data.len() + self.partition_key.len()
    }

    /// Check the record against every limit; on success return its encoded size in the body.
    pub fn validate(&self, limits: &Limits) -> Result<usize, RecordError> {
        let chars = self.partition_key.chars().count();
        if chars == 0 || chars > MAX_PARTITION_KEY_CHARS {
            return Err(RecordError::PartitionKeyLength { chars });
        }
        if let Some(key) = &self.explicit_hash_key {
            parse_hash_key(key)?;
        }
        let size = self.size();
        if size > limits.max_record_bytes {
            return Err(RecordError::TooLarge {
                size,
                limit: limits.max_record_bytes,
            });
        }
        let encoded = body::entry_len(self);
        let alone = limits.request_overhead + encoded;
        if alone > limits.max_request_bytes {
            return Err(RecordError::TooLargeForRequest {
                encoded: alone,
                limit: limits.max_request_bytes,
            });
        }
        Ok(encoded)
    }
}

/// 64-bit FNV-1a of a key: small index structures (busy keys, aggregate tables, open groups)
/// look keys up by it with no hasher's code in the wasm, confirming matches by the key itself
/// where a collision would matter.
pub fn key_hash(key: &str) -> u64 {
    key.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Parse an explicit hash key: `0|([1-9]\d{0,38})` and at most 2^128-1.
pub fn parse_hash_key(key: &str) -> Result<u128, RecordError> {
    let shown = || RecordError::ExplicitHashKey {
        shown: key.chars().take(48).collect(),
    };
    let digits_ok = !key.is_empty()
        && key.bytes().all(|b| b.is_ascii_digit())
        && (key == "0" || !key.starts_with('0'));
    if !digits_ok {
        return Err(shown());
    }
    key.parse::<u128>().map_err(|_| shown())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::config::Limits;

    fn rec(data: usize, key: &str) -> Record {
        Record {
            data: vec![b'x'; data],
            partition_key: key.to_owned(),
            explicit_hash_key: None,
        }
    }

    #[test]
    fn partition_key_edges() {
        let limits = Limits::default();
        assert!(rec(1, &"k".repeat(256)).validate(&limits).is_ok());
        assert_eq!(
            rec(1, &"k".repeat(257)).validate(&limits),
            Err(RecordError::PartitionKeyLength { chars: 257 })
        );
        assert_eq!(
            rec(1, "").validate(&limits),
            Err(RecordError::PartitionKeyLength { chars: 0 })
        );
        // 256 four-byte characters are 1024 bytes but 256 characters: allowed.
        assert!(rec(1, &"𝄞".repeat(256)).validate(&limits).is_ok());
        assert!(rec(1, &"é".repeat(257)).validate(&limits).is_err());
    }

    #[test]
    fn empty_data_is_allowed() {
        assert!(rec(0, "k").validate(&Limits::default()).is_ok());
    }

    #[test]
    fn hash_key_edges() {
        assert_eq!(parse_hash_key("0"), Ok(0));
        assert_eq!(
            parse_hash_key("340282366920938463463374607431768211455"),
            Ok(u128::MAX)
        );
        for bad in [
            "340282366920938463463374607431768211456",
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
    fn record_size_edges() {
        let limits = Limits::new(1000, 4096, 500).unwrap();
        assert!(rec(999, "k").validate(&limits).is_ok());
        assert_eq!(
            rec(1000, "k").validate(&limits),
            Err(RecordError::TooLarge {
                size: 1001,
                limit: 1000
            })
        );
        // Multibyte keys count their UTF-8 bytes toward the record size.
        assert!(rec(996, "éé").validate(&limits).is_ok());
        assert!(rec(997, "éé").validate(&limits).is_err());
    }

    #[test]
    fn debug_hides_data() {
        let shown = format!("{:?}", rec(3, "device-1"));
        assert!(shown.contains("data_len: 3") && !shown.contains("120"));
    }
}

// proptest is a native-only dev-dependency.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod properties {
    use super::*;
    use crate::core::body;
    use proptest::prelude::*;

    proptest! {
        /// Any record is accepted or refused without a panic; an accepted one is within every
        /// limit and its entry length is what the body writer will write.
        #[test]
        fn validation_never_panics(
            data_len in 0usize..3000,
            key in "\\PC{0,300}",
            hash in proptest::option::of("[0-9]{0,41}|[a-z0-9 -]{0,5}"),
            record_limit in 1usize..4000,
            request_limit in 1024usize..8000,
        ) {
            let record = Record { data: vec![0xab; data_len], partition_key: key, explicit_hash_key: hash };
            let mut limits = Limits::new(record_limit, request_limit, 500).unwrap();
            limits.request_overhead = 40;
            if let Ok(encoded) = record.validate(&limits) {
                let chars = record.partition_key.chars().count();
                prop_assert!((1..=MAX_PARTITION_KEY_CHARS).contains(&chars));
                prop_assert!(record.size() <= record_limit);
                prop_assert!(limits.request_overhead + encoded <= request_limit);
                prop_assert_eq!(encoded, body::entry_len(&record));
                if let Some(h) = &record.explicit_hash_key {
                    prop_assert!(parse_hash_key(h).is_ok());
                }
            }
        }
    }
}
