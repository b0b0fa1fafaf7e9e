//! The KCL's reading of aggregated records, for the tests of the encoder (the package's stream
//! reader decodes in JS, so that no producer page carries a decoder).

use md5::{Digest, Md5};

use crate::core::kpl::{DIGEST_LEN, MAGIC};

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

// proptest is a native-only dev-dependency.
#[cfg(not(target_arch = "wasm32"))]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any bytes decode to records or to "not an aggregate", never a panic.
        #[test]
        fn decode_never_panics(tail in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut data = MAGIC.to_vec();
            data.extend_from_slice(&tail);
            let _ = decode(&data);
            data.extend_from_slice(&Md5::digest(&tail));
            let _ = decode(&data);
        }
    }
}
