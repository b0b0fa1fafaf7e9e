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

use md5::{Digest, Md5};

use crate::core::body;
use crate::core::record::{key_hash, parse_hash_key, Record};

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

/// An aggregate's string table (partition keys or explicit hash keys), each string once,
/// indexed in order of first use. It holds no strings: each entry names the member that brought
/// it, found through a sorted FNV-1a index, so adding a record allocates nothing.
#[derive(Debug, Default)]
struct Table {
    /// Per entry: the member whose string it is.
    entries: Vec<usize>,
    /// (hash of the string, entry), sorted.
    index: Vec<(u64, u32)>,
}

impl Table {
    /// The entry for `s` (`Ok`), or where its hash goes in the index (`Err`).
    fn find<'m>(
        &self,
        s: &str,
        hash: u64,
        string_of: impl Fn(usize) -> &'m str,
    ) -> Result<u64, usize> {
        let first = self.index.partition_point(|&(h, _)| h < hash);
        let same_hash = self.index[first..].iter().take_while(|&&(h, _)| h == hash);
        for &(_, entry) in same_hash {
            if string_of(self.entries[entry as usize]) == s {
                return Ok(u64::from(entry));
            }
        }
        Err(first)
    }

    fn len(&self) -> u64 {
        self.entries.len() as u64
    }

    fn insert(&mut self, at: usize, hash: u64, member: usize) {
        self.index.insert(at, (hash, self.entries.len() as u32));
        self.entries.push(member);
    }
}

/// Where a record would go in an aggregate: found once, then both priced and applied.
#[derive(Clone, Copy, Debug)]
pub struct Slot {
    key: (u64, Result<u64, usize>),
    hash_key: Option<(u64, Result<u64, usize>)>,
    /// Protobuf bytes the record adds.
    added: usize,
}

impl Slot {
    fn index(place: (u64, Result<u64, usize>), table: &Table) -> u64 {
        place.1.unwrap_or_else(|_| table.len())
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
    hash_key: Option<String>,
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
            hash_key: hash_key.map(decimal),
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

    fn key_of(&self, member: usize) -> &str {
        &self.members[member].as_ref().partition_key
    }

    fn hash_key_of(&self, member: usize) -> &str {
        self.members[member]
            .as_ref()
            .explicit_hash_key
            .as_deref()
            .unwrap_or("")
    }

    /// Where `r` would go and the protobuf bytes it would add.
    pub fn slot(&self, r: &Record) -> Slot {
        let hash = key_hash(&r.partition_key);
        let key = (
            hash,
            self.keys.find(&r.partition_key, hash, |m| self.key_of(m)),
        );
        let mut added = if key.1.is_err() {
            field_len(r.partition_key.len())
        } else {
            0
        };
        let hash_key = r.explicit_hash_key.as_deref().map(|k| {
            let hash = key_hash(k);
            let place = (hash, self.hash_keys.find(k, hash, |m| self.hash_key_of(m)));
            if place.1.is_err() {
                added += field_len(k.len());
            }
            place
        });
        let key_index = Slot::index(key, &self.keys);
        let hash_index = hash_key.map(|p| Slot::index(p, &self.hash_keys));
        let inner = 1
            + varint_len(key_index)
            + hash_index.map_or(0, |i| 1 + varint_len(i))
            + field_len(r.data.len());
        Slot {
            key,
            hash_key,
            added: added + field_len(inner),
        }
    }

    /// Size of the Kinesis record (data plus partition key, as Kinesis counts it) and of its
    /// entry in a `PutRecords` body, were `extra` added in `slot`: a lone record travels as itself.
    pub fn sizes_with(&self, extra: Option<(&Record, &Slot)>) -> (usize, usize) {
        let first = match (self.members.first(), extra) {
            (Some(m), _) => m.as_ref(),
            (None, Some((r, _))) => r,
            (None, None) => return (0, 0),
        };
        let count = self.members.len() + usize::from(extra.is_some());
        if count == 1 {
            return (first.size(), body::entry_len(first));
        }
        let proto = self.proto_len + extra.map_or(0, |(_, slot)| slot.added);
        let data_len = MAGIC.len() + proto + DIGEST_LEN;
        let hash_key_len = self
            .hash_key
            .as_ref()
            .or(first.explicit_hash_key.as_ref())
            .map(String::len);
        (
            data_len + first.partition_key.len(),
            body::entry_len_parts(data_len, &first.partition_key, hash_key_len),
        )
    }

    /// Add `item` in the slot [`Aggregate::slot`] found for it.
    pub fn push_at(&mut self, item: T, slot: Slot) {
        let member = self.members.len();
        let key_index = Slot::index(slot.key, &self.keys);
        if let (hash, Err(at)) = slot.key {
            self.keys.insert(at, hash, member);
        }
        let hash_index = slot.hash_key.map(|place| {
            let i = Slot::index(place, &self.hash_keys);
            if let (hash, Err(at)) = place {
                self.hash_keys.insert(at, hash, member);
            }
            i
        });
        self.proto_len += slot.added;
        self.indices.push((key_index, hash_index));
        self.members.push(item);
    }

    pub fn push(&mut self, item: T) {
        let slot = self.slot(item.as_ref());
        self.push_at(item, slot);
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
        // Written in place after the magic; the digest covers the protobuf bytes only.
        let mut data = Vec::with_capacity(MAGIC.len() + self.proto_len + DIGEST_LEN);
        data.extend_from_slice(&MAGIC);
        let proto = &mut data;
        let mut string_field = |tag: u8, s: &str| {
            proto.push(tag);
            put_varint(proto, s.len() as u64);
            proto.extend_from_slice(s.as_bytes());
        };
        for &m in &self.keys.entries {
            string_field(TAG_PARTITION_KEY_TABLE, self.key_of(m));
        }
        for &m in &self.hash_keys.entries {
            string_field(TAG_HASH_KEY_TABLE, self.hash_key_of(m));
        }
        for (member, &(key_index, hash_index)) in self.members.iter().zip(&self.indices) {
            let record = member.as_ref();
            let inner = 1
                + varint_len(key_index)
                + hash_index.map_or(0, |i| 1 + varint_len(i))
                + field_len(record.data.len());
            data.push(TAG_RECORDS);
            put_varint(&mut data, inner as u64);
            data.push(TAG_PARTITION_KEY_INDEX);
            put_varint(&mut data, key_index);
            if let Some(i) = hash_index {
                data.push(TAG_HASH_KEY_INDEX);
                put_varint(&mut data, i);
            }
            data.push(TAG_DATA);
            put_varint(&mut data, record.data.len() as u64);
            data.extend_from_slice(&record.data);
        }
        let digest = Md5::digest(&data[MAGIC.len()..]);
        data.extend_from_slice(&digest);
        Record {
            data,
            partition_key: first.partition_key.clone(),
            explicit_hash_key: self
                .hash_key
                .clone()
                .or_else(|| first.explicit_hash_key.clone()),
        }
    }
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

impl AsRef<Record> for Record {
    fn as_ref(&self) -> &Record {
        self
    }
}

/// One record unpacked from an aggregate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubRecord {
    pub partition_key: String,
    pub explicit_hash_key: Option<String>,
    pub data: Vec<u8>,
}

/// Protobuf reading, just enough for `AggregatedRecord`: fields as (number, value).
struct Fields<'a>(&'a [u8]);

enum Value<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
}

impl<'a> Fields<'a> {
    fn varint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let (&b, rest) = self.0.split_first()?;
            self.0 = rest;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    /// The next field, `Some(None)` at the end, `None` when malformed.
    fn next_field(&mut self) -> Option<Option<(u64, Value<'a>)>> {
        if self.0.is_empty() {
            return Some(None);
        }
        let key = self.varint()?;
        let value = match key & 7 {
            0 => Value::Varint(self.varint()?),
            2 => {
                let len = usize::try_from(self.varint()?).ok()?;
                if len > self.0.len() {
                    return None;
                }
                let (bytes, rest) = self.0.split_at(len);
                self.0 = rest;
                Value::Bytes(bytes)
            }
            _ => return None,
        };
        Some(Some((key >> 3, value)))
    }
}

/// The records of an aggregated record, as the KCL unpacks them; `None` when `data` is not one
/// (no magic, a wrong MD5, or a malformed protobuf), which consumers treat as a plain record.
pub fn decode(data: &[u8]) -> Option<Vec<SubRecord>> {
    let proto = data
        .strip_prefix(&MAGIC)?
        .get(..data.len().checked_sub(MAGIC.len() + DIGEST_LEN)?)?;
    if Md5::digest(proto)[..] != data[data.len() - DIGEST_LEN..] {
        return None;
    }
    let text = |b: &[u8]| std::str::from_utf8(b).ok().map(str::to_owned);
    let (mut keys, mut hash_keys, mut records) = (Vec::new(), Vec::new(), Vec::new());
    let mut fields = Fields(proto);
    while let Some((number, value)) = fields.next_field()? {
        match (number, value) {
            (1, Value::Bytes(b)) => keys.push(text(b)?),
            (2, Value::Bytes(b)) => hash_keys.push(text(b)?),
            (3, Value::Bytes(b)) => records.push(b),
            _ => {}
        }
    }
    records
        .into_iter()
        .map(|record| {
            let (mut key, mut hash_key, mut data) = (None, None, None);
            let mut fields = Fields(record);
            while let Some((number, value)) = fields.next_field()? {
                match (number, value) {
                    (1, Value::Varint(i)) => key = Some(i),
                    (2, Value::Varint(i)) => hash_key = Some(i),
                    (3, Value::Bytes(b)) => data = Some(b.to_vec()),
                    _ => {}
                }
            }
            let index = |i: u64, table: &[String]| table.get(usize::try_from(i).ok()?).cloned();
            Some(SubRecord {
                partition_key: index(key?, &keys)?,
                explicit_hash_key: match hash_key {
                    Some(i) => Some(index(i, &hash_keys)?),
                    None => None,
                },
                data: data?,
            })
        })
        .collect()
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
        assert_eq!(a.keys.len(), 2, "\"a\" once");
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
                let slot = a.slot(&r);
                let predicted = a.sizes_with(Some((&r, &slot)));
                a.push_at(r, slot);
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
        let slot = a.slot(&r);
        assert_eq!(
            a.sizes_with(Some((&r, &slot))),
            (r.size(), body::entry_len(&r))
        );
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
    fn decode_unpacks_what_encode_packed_and_refuses_the_rest() {
        let members = [
            rec(b"x", "a", None),
            rec(b"yz", "bb", Some("42")),
            rec(b"", "a", None),
            rec(&[0xff; 300], "c", Some("42")),
        ];
        let mut a = Aggregate::new(Some(7));
        for m in &members {
            a.push(m.clone());
        }
        let (record, _) = a.finish();
        let decoded = decode(&record.data).unwrap();
        let expected: Vec<SubRecord> = members
            .iter()
            .map(|m| SubRecord {
                partition_key: m.partition_key.clone(),
                explicit_hash_key: m.explicit_hash_key.clone(),
                data: m.data.clone(),
            })
            .collect();
        assert_eq!(decoded, expected);
        // A flipped bit anywhere: the MD5 no longer matches, so it reads as a plain record.
        for at in [0, 4, record.data.len() / 2, record.data.len() - 1] {
            let mut bad = record.data.clone();
            bad[at] ^= 1;
            assert_eq!(decode(&bad), None, "bit flipped at {at}");
        }
        assert_eq!(decode(b"plain reading"), None);
        assert_eq!(decode(&MAGIC), None);
        // A well-formed digest over a malformed protobuf.
        let mut junk = MAGIC.to_vec();
        junk.extend_from_slice(&[0x1A, 0x05, 0x08]);
        junk.extend_from_slice(&Md5::digest([0x1A, 0x05, 0x08]));
        assert_eq!(decode(&junk), None);
    }

    #[test]
    fn decimals_of_128_bit_numbers() {
        for v in [
            0u128,
            9,
            10,
            999_999_999,
            1_000_000_000,
            1_000_000_001,
            u128::from(u64::MAX),
            u128::from(u64::MAX) + 1,
            u128::MAX / 3,
            u128::MAX,
        ] {
            assert_eq!(decimal(v), v.to_string());
        }
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

// proptest is a native-only dev-dependency.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any bytes decode to records or to "not an aggregate", never a panic; and whatever
        /// is encoded decodes back to the same records.
        #[test]
        fn decode_never_panics(tail in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut data = MAGIC.to_vec();
            data.extend_from_slice(&tail);
            let _ = decode(&data);
            let digest = Md5::digest(&tail);
            data.extend_from_slice(&digest);
            let _ = decode(&data);
        }

        #[test]
        fn encode_then_decode(records in proptest::collection::vec(
            (proptest::collection::vec(any::<u8>(), 0..50), "\\\\PC{1,8}", proptest::option::of(any::<u128>())),
            2..20,
        )) {
            let mut a = Aggregate::new(None);
            for (data, key, hash_key) in &records {
                a.push(Record { data: data.clone(), partition_key: key.clone(), explicit_hash_key: hash_key.map(decimal) });
            }
            let (record, _) = a.finish();
            let decoded = decode(&record.data).unwrap();
            prop_assert_eq!(decoded.len(), records.len());
            for (d, (data, key, hash_key)) in decoded.iter().zip(&records) {
                prop_assert_eq!(&d.data, data);
                prop_assert_eq!(&d.partition_key, key);
                prop_assert_eq!(&d.explicit_hash_key, &hash_key.map(decimal));
            }
        }
    }
}
