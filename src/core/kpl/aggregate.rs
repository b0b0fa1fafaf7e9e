//! KPL aggregated records: many user records in one Kinesis record, in the format the KCL and
//! the aws-kinesis-agg decoders unpack: the magic `F3 89 9A C2`, a protobuf `AggregatedRecord`,
//! then the MD5 of the protobuf bytes. Sizes are known before encoding, so the packer can fill
//! an aggregate to the byte without writing it twice. The protobuf is written by hand: three
//! fields of two messages do not pay for a protobuf crate's code.
//!
//! ```text
//! AggregatedRecord { repeated string partition_key_table = 1; repeated string explicit_hash_key_table = 2;
//!                    repeated Record records = 3; }
//! Record { required uint64 partition_key_index = 1; optional uint64 explicit_hash_key_index = 2;
//!          required bytes data = 3; }
//! ```

use md5::{Digest, Md5};

use crate::core::fnv::fnv1a;
use crate::core::kinesis::put_records::{entry_len, entry_len_parts};
use crate::core::kpl::{DIGEST_LEN, MAGIC};
use crate::core::model::record::{decimal, Record};

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

/// Bytes of one `Record` message's fields.
fn record_fields_len(key_index: u64, hash_index: Option<u64>, data_len: usize) -> usize {
    1 + varint_len(key_index) + hash_index.map_or(0, |i| 1 + varint_len(i)) + field_len(data_len)
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

/// Where a string is in a table: its hash, and its entry (`Ok`) or where its hash goes (`Err`).
type Place = (u64, Result<u64, usize>);

impl Table {
    fn find<'m>(&self, s: &str, string_of: impl Fn(usize) -> &'m str) -> Place {
        let hash = fnv1a(s.as_bytes());
        let first = self.index.partition_point(|&(h, _)| h < hash);
        let same_hash = self.index[first..].iter().take_while(|&&(h, _)| h == hash);
        for &(_, entry) in same_hash {
            if string_of(self.entries[entry as usize]) == s {
                return (hash, Ok(u64::from(entry)));
            }
        }
        (hash, Err(first))
    }

    /// The entry a found place has or would get.
    fn index_of(&self, place: Place) -> u64 {
        place.1.unwrap_or(self.entries.len() as u64)
    }

    fn add(&mut self, place: Place, member: usize) {
        if let (hash, Err(at)) = place {
            self.index.insert(at, (hash, self.entries.len() as u32));
            self.entries.push(member);
        }
    }
}

/// Where a record would go in an aggregate: found once, then both priced and applied.
#[derive(Clone, Copy, Debug)]
pub struct Slot {
    key: Place,
    hash_key: Option<Place>,
    /// Protobuf bytes the record adds.
    added: usize,
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
        self.members[member].as_ref().partition_key()
    }

    fn hash_key_of(&self, member: usize) -> &str {
        self.members[member]
            .as_ref()
            .explicit_hash_key()
            .unwrap_or("")
    }

    /// Where `r` would go and the protobuf bytes it would add.
    pub fn slot(&self, r: &Record) -> Slot {
        let key = self.keys.find(r.partition_key(), |m| self.key_of(m));
        let mut added = if key.1.is_err() {
            field_len(r.partition_key().len())
        } else {
            0
        };
        let hash_key = r.explicit_hash_key().map(|k| {
            let place = self.hash_keys.find(k, |m| self.hash_key_of(m));
            if place.1.is_err() {
                added += field_len(k.len());
            }
            place
        });
        let inner = record_fields_len(
            self.keys.index_of(key),
            hash_key.map(|p| self.hash_keys.index_of(p)),
            r.data().len(),
        );
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
            return (first.size(), entry_len(first));
        }
        let proto = self.proto_len + extra.map_or(0, |(_, slot)| slot.added);
        let data_len = MAGIC.len() + proto + DIGEST_LEN;
        let hash_key_len = self
            .hash_key
            .as_deref()
            .or(first.explicit_hash_key())
            .map(str::len);
        (
            data_len + first.partition_key().len(),
            entry_len_parts(data_len, first.partition_key(), hash_key_len),
        )
    }

    /// Add `item` in the slot [`Aggregate::slot`] found for it.
    pub fn push_at(&mut self, item: T, slot: Slot) {
        let member = self.members.len();
        let key_index = self.keys.index_of(slot.key);
        self.keys.add(slot.key, member);
        let hash_index = slot.hash_key.map(|place| {
            let i = self.hash_keys.index_of(place);
            self.hash_keys.add(place, member);
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
            return Record::new(b"", "", None);
        };
        // Written in place after the magic; the digest covers the protobuf bytes only.
        let mut data = Vec::with_capacity(MAGIC.len() + self.proto_len + DIGEST_LEN);
        data.extend_from_slice(&MAGIC);
        let strings = self
            .keys
            .entries
            .iter()
            .map(|&m| (TAG_PARTITION_KEY_TABLE, self.key_of(m)));
        let hash_strings = self
            .hash_keys
            .entries
            .iter()
            .map(|&m| (TAG_HASH_KEY_TABLE, self.hash_key_of(m)));
        for (tag, s) in strings.chain(hash_strings) {
            data.push(tag);
            put_varint(&mut data, s.len() as u64);
            data.extend_from_slice(s.as_bytes());
        }
        for (member, &(key_index, hash_index)) in self.members.iter().zip(&self.indices) {
            let payload = member.as_ref().data();
            data.push(TAG_RECORDS);
            put_varint(
                &mut data,
                record_fields_len(key_index, hash_index, payload.len()) as u64,
            );
            data.push(TAG_PARTITION_KEY_INDEX);
            put_varint(&mut data, key_index);
            if let Some(i) = hash_index {
                data.push(TAG_HASH_KEY_INDEX);
                put_varint(&mut data, i);
            }
            data.push(TAG_DATA);
            put_varint(&mut data, payload.len() as u64);
            data.extend_from_slice(payload);
        }
        let digest = Md5::digest(&data[MAGIC.len()..]);
        data.extend_from_slice(&digest);
        let hash_key = self.hash_key.as_deref().or(first.explicit_hash_key());
        Record::with_data(data, first.partition_key(), hash_key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::kpl::decode::{decode, SubRecord};

    fn rec(data: &[u8], key: &str, hash_key: Option<&str>) -> Record {
        Record::new(data, key, hash_key)
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
        assert_eq!(a.keys.entries.len(), 2, "\"a\" once");
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
        assert_eq!(record.data(), expected);
        assert_eq!(record.partition_key(), "a");
        assert_eq!(record.explicit_hash_key(), None);
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
            let (kinesis_size, entry) = a.sizes_with(None);
            let (record, _) = a.finish();
            assert_eq!(record.size(), kinesis_size, "data length {len}");
            assert_eq!(entry_len(&record), entry);
            assert_eq!(
                record.explicit_hash_key(),
                Some("340282366920938463463374607431768211455")
            );
        }
    }

    #[test]
    fn a_lone_member_travels_as_itself() {
        let mut a = Aggregate::new(Some(7));
        let r = rec(b"reading", "dev-1", None);
        let slot = a.slot(&r);
        assert_eq!(a.sizes_with(Some((&r, &slot))), (r.size(), entry_len(&r)));
        a.push(r.clone());
        assert_eq!(a.finish().0, r);
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
        let decoded = decode(record.data()).unwrap();
        let expected: Vec<SubRecord> = members
            .iter()
            .map(|m| SubRecord {
                partition_key: m.partition_key().to_owned(),
                explicit_hash_key: m.explicit_hash_key().map(str::to_owned),
                data: m.data().to_vec(),
            })
            .collect();
        assert_eq!(decoded, expected);
        // A flipped bit anywhere: the MD5 no longer matches, so it reads as a plain record.
        let data = record.data();
        for at in [0, 4, data.len() / 2, data.len() - 1] {
            let mut bad = data.to_vec();
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
    use crate::core::kpl::decode::decode;
    use proptest::prelude::*;

    proptest! {
        /// Whatever is encoded decodes back to the same records, sizes predicted exactly.
        #[test]
        fn encode_then_decode(records in proptest::collection::vec(
            (proptest::collection::vec(any::<u8>(), 0..50), "\\PC{1,8}", proptest::option::of(any::<u128>())),
            2..20,
        )) {
            let mut a = Aggregate::new(None);
            for (data, key, hash_key) in &records {
                a.push(Record::new(data, key, hash_key.map(decimal).as_deref()));
            }
            let (size, _) = a.sizes_with(None);
            let (record, _) = a.finish();
            prop_assert_eq!(record.size(), size);
            let decoded = decode(record.data()).unwrap();
            prop_assert_eq!(decoded.len(), records.len());
            for (d, (data, key, hash_key)) in decoded.iter().zip(&records) {
                prop_assert_eq!(&d.data, data);
                prop_assert_eq!(&d.partition_key, key);
                prop_assert_eq!(&d.explicit_hash_key, &hash_key.map(decimal));
            }
        }
    }
}
