//! KPL aggregated records: many user records in one Kinesis record, in the format the KCL and
//! the aws-kinesis-agg decoders unpack: the magic `F3 89 9A C2`, a protobuf `AggregatedRecord`,
//! then the MD5 of the protobuf bytes. Sizes are known before encoding, so the packer can fill
//! an aggregate to the byte without writing it twice.
//!
//! ```text
//! AggregatedRecord { repeated string partition_key_table = 1; repeated string explicit_hash_key_table = 2;
//!                    repeated Record records = 3; }
//! Record { required uint64 partition_key_index = 1; optional uint64 explicit_hash_key_index = 2;
//!          required bytes data = 3; }
//! ```

use std::collections::BTreeMap;

use md5::{Digest, Md5};

use crate::core::body;
use crate::core::record::{parse_hash_key, Record};

pub const MAGIC: [u8; 4] = [0xF3, 0x89, 0x9A, 0xC2];
const DIGEST_LEN: usize = 16;

// Protobuf tags: field number << 3 | wire type (0 varint, 2 length-delimited).
const TAG_PARTITION_KEY_TABLE: u8 = 1 << 3 | 2;
const TAG_HASH_KEY_TABLE: u8 = 2 << 3 | 2;
const TAG_RECORDS: u8 = 3 << 3 | 2;
const TAG_PARTITION_KEY_INDEX: u8 = 1 << 3;
const TAG_HASH_KEY_INDEX: u8 = 2 << 3;
const TAG_DATA: u8 = 3 << 3 | 2;

fn varint_len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Bytes of a length-delimited field with a one-byte tag.
fn field_len(len: usize) -> usize {
    1 + varint_len(len as u64) + len
}

/// The hash key that places a record on a shard: its explicit hash key, else the MD5 of its
/// partition key's UTF-8 bytes read as a 128-bit big-endian number.
pub fn hash_key(record: &Record) -> u128 {
    if let Some(Ok(key)) = record.explicit_hash_key.as_deref().map(parse_hash_key) {
        return key;
    }
    u128::from_be_bytes(Md5::digest(record.partition_key.as_bytes()).into())
}

/// Strings of an aggregate's table, each once, indexed in order of first use.
#[derive(Debug, Default)]
struct Table {
    entries: Vec<String>,
    index: BTreeMap<String, u64>,
}

impl Table {
    fn find(&self, s: &str) -> Option<u64> {
        self.index.get(s).copied()
    }

    fn insert(&mut self, s: &str) -> u64 {
        if let Some(i) = self.find(s) {
            return i;
        }
        let i = self.entries.len() as u64;
        self.entries.push(s.to_owned());
        self.index.insert(s.to_owned(), i);
        i
    }

    /// Index `s` would get.
    fn index_for(&self, s: &str) -> (u64, bool) {
        match self.find(s) {
            Some(i) => (i, false),
            None => (self.entries.len() as u64, true),
        }
    }
}

/// User records packed for one Kinesis record. `T` is whatever carries each record (the
/// producer's queued record), kept in order so that member `i` has subsequence number `i`.
#[derive(Debug)]
pub struct Aggregate<T> {
    members: Vec<T>,
    /// Per member: its partition key index and explicit hash key index.
    indices: Vec<(u64, Option<u64>)>,
    keys: Table,
    hash_keys: Table,
    proto_len: usize,
    /// The `ExplicitHashKey` the Kinesis record is sent with, when grouped by shard.
    hash_key: Option<u128>,
}

impl<T: AsRef<Record>> Aggregate<T> {
    /// An empty aggregate; `hash_key` places it (shard grouping) or, when `None`, its members'
    /// shared partition key or explicit hash key does.
    pub fn new(hash_key: Option<u128>) -> Self {
        Self {
            members: Vec::new(),
            indices: Vec::new(),
            keys: Table::default(),
            hash_keys: Table::default(),
            proto_len: 0,
            hash_key,
        }
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    pub fn members(&self) -> &[T] {
        &self.members
    }

    /// Protobuf bytes `r` adds, with the indices it would get.
    fn growth(&self, r: &Record) -> (usize, u64, Option<u64>) {
        let (key_index, new_key) = self.keys.index_for(&r.partition_key);
        let mut added = if new_key {
            field_len(r.partition_key.len())
        } else {
            0
        };
        let hash_index = r.explicit_hash_key.as_deref().map(|k| {
            let (i, new) = self.hash_keys.index_for(k);
            if new {
                added += field_len(k.len());
            }
            i
        });
        let inner = 1
            + varint_len(key_index)
            + hash_index.map_or(0, |i| 1 + varint_len(i))
            + field_len(r.data.len());
        (added + field_len(inner), key_index, hash_index)
    }

    /// The partition key and explicit hash key the Kinesis record is sent with.
    fn placement(&self, first: &Record) -> (usize, usize) {
        let hash_key_len = match self.hash_key {
            Some(h) => decimal_len(h),
            None => first.explicit_hash_key.as_ref().map_or(0, String::len),
        };
        (first.partition_key.len(), hash_key_len)
    }

    /// Size of the Kinesis record (data plus partition key, as Kinesis counts it) and its entry
    /// in a `PutRecords` body, were `extra` added: a lone record travels as itself.
    pub fn sizes_with(&self, extra: Option<&Record>) -> (usize, usize) {
        let first = match (self.members.first(), extra) {
            (Some(m), _) => m.as_ref(),
            (None, Some(r)) => r,
            (None, None) => return (0, 0),
        };
        let count = self.members.len() + usize::from(extra.is_some());
        if count == 1 {
            return (first.size(), body::entry_len(first));
        }
        let proto = self.proto_len + extra.map_or(0, |r| self.growth(r).0);
        let data_len = MAGIC.len() + proto + DIGEST_LEN;
        let (key_len, hash_key_len) = self.placement(first);
        let hash_key = (hash_key_len > 0).then_some(hash_key_len);
        (
            data_len + key_len,
            body::entry_len_parts(data_len, &first.partition_key, hash_key),
        )
    }

    pub fn push(&mut self, item: T) {
        let r = item.as_ref();
        let (added, key_index, hash_index) = self.growth(r);
        self.keys.insert(&r.partition_key);
        if let Some(k) = &r.explicit_hash_key {
            self.hash_keys.insert(k);
        }
        self.proto_len += added;
        self.indices.push((key_index, hash_index));
        self.members.push(item);
    }

    /// The Kinesis record to send and the members it carries, in subsequence order.
    pub fn finish(self) -> (Record, Vec<T>) {
        let record = match self.members.as_slice() {
            [only] => only.as_ref().clone(),
            _ => self.encode(),
        };
        (record, self.members)
    }

    fn encode(&self) -> Record {
        let Some(first) = self.members.first().map(AsRef::as_ref) else {
            return Record {
                data: Vec::new(),
                partition_key: String::new(),
                explicit_hash_key: None,
            };
        };
        let mut proto = Vec::with_capacity(self.proto_len);
        let mut string_field = |tag: u8, s: &str| {
            proto.push(tag);
            put_varint(&mut proto, s.len() as u64);
            proto.extend_from_slice(s.as_bytes());
        };
        for k in &self.keys.entries {
            string_field(TAG_PARTITION_KEY_TABLE, k);
        }
        for k in &self.hash_keys.entries {
            string_field(TAG_HASH_KEY_TABLE, k);
        }
        for (member, &(key_index, hash_index)) in self.members.iter().zip(&self.indices) {
            let data = &member.as_ref().data;
            let inner = 1
                + varint_len(key_index)
                + hash_index.map_or(0, |i| 1 + varint_len(i))
                + field_len(data.len());
            proto.push(TAG_RECORDS);
            put_varint(&mut proto, inner as u64);
            proto.push(TAG_PARTITION_KEY_INDEX);
            put_varint(&mut proto, key_index);
            if let Some(i) = hash_index {
                proto.push(TAG_HASH_KEY_INDEX);
                put_varint(&mut proto, i);
            }
            proto.push(TAG_DATA);
            put_varint(&mut proto, data.len() as u64);
            proto.extend_from_slice(data);
        }
        let mut data = Vec::with_capacity(MAGIC.len() + proto.len() + DIGEST_LEN);
        data.extend_from_slice(&MAGIC);
        data.extend_from_slice(&proto);
        data.extend_from_slice(&Md5::digest(&proto));
        Record {
            data,
            partition_key: first.partition_key.clone(),
            explicit_hash_key: match self.hash_key {
                Some(h) => Some(h.to_string()),
                None => first.explicit_hash_key.clone(),
            },
        }
    }
}

fn decimal_len(mut v: u128) -> usize {
    let mut digits = 1;
    while v >= 10 {
        v /= 10;
        digits += 1;
    }
    digits
}

impl AsRef<Record> for Record {
    fn as_ref(&self) -> &Record {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(data: &[u8], key: &str, hash_key: Option<&str>) -> Record {
        Record {
            data: data.to_vec(),
            partition_key: key.into(),
            explicit_hash_key: hash_key.map(Into::into),
        }
    }

    /// Bytes written out field by field from the .proto above, independently of the encoder:
    /// keys "a", "bb"; hash key table "42"; records (0, data "x"), (1, hash 0, data "yz"),
    /// (0, data "").
    #[test]
    fn three_records_encode_to_known_bytes() {
        let mut a = Aggregate::new(None);
        a.push(rec(b"x", "a", None));
        a.push(rec(b"yz", "bb", Some("42")));
        a.push(rec(b"", "a", None));
        let (sizes_before, _) = a.sizes_with(None);
        let (record, members) = a.finish();
        let proto: &[u8] = &[
            0x0A, 1, b'a', // partition_key_table[0] = "a"
            0x0A, 2, b'b', b'b', // partition_key_table[1] = "bb"
            0x12, 2, b'4', b'2', // explicit_hash_key_table[0] = "42"
            0x1A, 5, 0x08, 0, 0x1A, 1, b'x', // records[0]: key 0, data "x"
            0x1A, 8, 0x08, 1, 0x10, 0, 0x1A, 2, b'y', b'z', // records[1]: key 1, hash 0, "yz"
            0x1A, 4, 0x08, 0, 0x1A, 0, // records[2]: key 0, data ""
        ];
        let mut expected = MAGIC.to_vec();
        expected.extend_from_slice(proto);
        expected.extend_from_slice(&Md5::digest(proto));
        assert_eq!(record.data, expected);
        assert_eq!(record.partition_key, "a");
        assert_eq!(record.explicit_hash_key, None);
        assert_eq!(members.len(), 3);
        assert_eq!(sizes_before, record.size(), "size known before encoding");
    }

    #[test]
    fn sizes_are_exact_for_every_length() {
        // Varint boundaries at 127/128 and 16383/16384 bytes of data.
        for len in [0usize, 1, 126, 127, 128, 129, 300, 16_383, 16_384, 20_000] {
            let mut a = Aggregate::new(Some(u128::MAX));
            for i in 0..3 {
                let r = rec(&vec![b'd'; len + i], &format!("k{i}"), None);
                let predicted = a.sizes_with(Some(&r));
                a.push(r);
                assert_eq!(predicted, a.sizes_with(None));
            }
            let (kinesis_size, entry_len) = a.sizes_with(None);
            let (record, _) = a.finish();
            assert_eq!(record.size(), kinesis_size, "data length {len}");
            assert_eq!(body::entry_len(&record), entry_len);
            assert_eq!(
                record.explicit_hash_key.as_deref(),
                Some("340282366920938463463374607431768211455")
            );
        }
    }

    #[test]
    fn a_lone_member_travels_as_itself() {
        let mut a = Aggregate::new(Some(7));
        let r = rec(b"reading", "dev-1", None);
        assert_eq!(a.sizes_with(Some(&r)), (r.size(), body::entry_len(&r)));
        a.push(r.clone());
        assert_eq!(a.finish().0, r);
    }

    #[test]
    fn hash_keys_follow_md5_or_the_explicit_key() {
        // MD5("a") = 0cc175b9c0f1b6a831c399e269772661
        assert_eq!(
            hash_key(&rec(b"", "a", None)),
            0x0cc175b9c0f1b6a831c399e269772661
        );
        assert_eq!(hash_key(&rec(b"", "a", Some("0"))), 0);
        assert_eq!(
            hash_key(&rec(
                b"",
                "a",
                Some("340282366920938463463374607431768211455")
            )),
            u128::MAX
        );
    }

    #[test]
    fn varint_lengths() {
        for (v, n) in [
            (0u64, 1),
            (127, 1),
            (128, 2),
            (16_383, 2),
            (16_384, 3),
            (u64::MAX, 10),
        ] {
            assert_eq!(varint_len(v), n, "{v}");
            let mut out = Vec::new();
            put_varint(&mut out, v);
            assert_eq!(out.len(), n);
        }
    }
}
