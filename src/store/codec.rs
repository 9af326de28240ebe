//! How the Redis store writes a record. Every tracked withdrawal costs Redis
//! memory for as long as it is kept, so the record (its serde JSON) is
//! compressed with LZ4 against a fixed dictionary of typical records: field
//! names, state names and the shape of the history and escalation repeat in
//! every record, and the dictionary turns them into back-references. A fresh
//! record of about 1,000 bytes of JSON is stored in about 215, a broadcast
//! one of about 1,150 in about 290.
//!
//! The first byte says how the rest is written, so a new dictionary is a new
//! tag and records written with an older one stay readable:
//! - `{`: plain JSON (what an operator or a migration may write by hand);
//! - [`LZ4_DICTIONARY_V1`], [`LZ4_DICTIONARY_V2`]: LZ4 block with its
//!   decompressed size prepended, compressed against
//!   `record_dictionary_v1.json` or `record_dictionary_v2.json`.
//!
//! Records are written with V2: a confirming, a completed and a pending
//! record, then a broadcast one as the tracker leaves it after its first
//! lookup, then one as registered. The order matters: `lz4_flex`'s match
//! finder prefers the dictionary's last bytes, so the most common records
//! in flight go last. A broadcast record a few bytes over 314 takes a
//! 384-byte allocation in Redis instead of 320; with V2 the median looked-up
//! one is 304 bytes (343 with V1), see docs/PERFORMANCE.md.

use super::StoreError;
use crate::domain::Withdrawal;

/// The tag of records compressed against [`DICTIONARY_V1`].
pub const LZ4_DICTIONARY_V1: u8 = 0x01;
/// The tag of records compressed against [`DICTIONARY_V2`].
pub const LZ4_DICTIONARY_V2: u8 = 0x02;

/// Never edit either: records in deployed stores were compressed against
/// these exact bytes (a test pins their digests). A better dictionary gets a
/// new tag.
const DICTIONARY_V1: &[u8] = include_bytes!("record_dictionary_v1.json");
const DICTIONARY_V2: &[u8] = include_bytes!("record_dictionary_v2.json");

/// Far above any real record (history and deliveries are bounded); refuses
/// a corrupt size prefix before it allocates.
const MAX_RECORD_BYTES: usize = 1 << 20;

pub fn encode(withdrawal: &Withdrawal) -> Result<Vec<u8>, StoreError> {
    let json = serde_json::to_vec(withdrawal).map_err(|e| StoreError::Internal(e.to_string()))?;
    let compressed = lz4_flex::block::compress_prepend_size_with_dict(&json, DICTIONARY_V2);
    let mut encoded = Vec::with_capacity(1 + compressed.len());
    encoded.push(LZ4_DICTIONARY_V2);
    encoded.extend_from_slice(&compressed);
    Ok(encoded)
}

pub fn decode(encoded: &[u8]) -> Result<Withdrawal, StoreError> {
    let undecodable = |reason: String| StoreError::Internal(format!("undecodable record: {reason}"));
    match encoded.split_first() {
        Some((b'{', _)) => parse_json(encoded).map_err(undecodable),
        Some((&tag @ (LZ4_DICTIONARY_V1 | LZ4_DICTIONARY_V2), compressed)) => {
            let dictionary = if tag == LZ4_DICTIONARY_V1 { DICTIONARY_V1 } else { DICTIONARY_V2 };
            let size = compressed.get(..4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize);
            if size.is_none_or(|size| size > MAX_RECORD_BYTES) {
                return Err(undecodable(format!("size prefix {size:?} out of range")));
            }
            let json = lz4_flex::block::decompress_size_prepended_with_dict(compressed, dictionary)
                .map_err(|e| undecodable(e.to_string()))?;
            parse_json(&json).map_err(undecodable)
        }
        Some((tag, _)) => Err(undecodable(format!("unknown format tag {tag:#04x}"))),
        None => Err(undecodable("empty value".into())),
    }
}

/// The record's JSON, checked as UTF-8 once as a whole: `from_str` then
/// takes each string as it is, where `from_slice` validates every string
/// again on its own (a tenth of a `GET`'s decode).
fn parse_json(json: &[u8]) -> Result<Withdrawal, String> {
    let text = std::str::from_utf8(json).map_err(|e| e.to_string())?;
    serde_json::from_str(text).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    use super::*;
    use crate::domain::sample_withdrawal;

    #[test]
    fn the_dictionaries_never_change() {
        let digest = |d: &[u8]| Sha256::digest(d).iter().map(|b| format!("{b:02x}")).collect::<String>();
        let why = "records in deployed stores were compressed against this dictionary: add a new tag instead";
        assert_eq!(digest(DICTIONARY_V1), "d9aa301c9c6e4ba34e6dda7aee2ec560c72b24e83f7e615706f37886689ceee6", "{why}");
        assert_eq!(digest(DICTIONARY_V2), "14967fd2ae16e2e37e0246f02e96f31dcfe35a46ae192a5b0e08fb0bd14fa5e9", "{why}");
    }

    #[test]
    fn records_written_with_the_v1_dictionary_stay_readable() {
        let record = sample_withdrawal("w-1", "2026-03-02T10:00:00Z", true);
        let json = serde_json::to_vec(&record).unwrap();
        let mut v1 = vec![LZ4_DICTIONARY_V1];
        v1.extend(lz4_flex::block::compress_prepend_size_with_dict(&json, DICTIONARY_V1));
        assert_eq!(decode(&v1).unwrap(), record);
        let mut wrong_dictionary = v1.clone();
        wrong_dictionary[0] = LZ4_DICTIONARY_V2;
        assert_ne!(decode(&wrong_dictionary).ok(), Some(record), "the tag picks the dictionary");
    }

    #[test]
    fn records_round_trip_compressed_and_plain() {
        let mut record = sample_withdrawal("w-1", "2026-03-02T10:00:00Z", true);
        record.memo = Some("memo with \u{4e2d}\u{6587}".into());
        let encoded = encode(&record).unwrap();
        assert_eq!(encoded[0], LZ4_DICTIONARY_V2);
        assert_eq!(decode(&encoded).unwrap(), record);
        assert_eq!(decode(&serde_json::to_vec(&record).unwrap()).unwrap(), record, "plain JSON stays readable");
    }

    #[test]
    fn a_fresh_record_is_stored_in_under_a_third_of_its_json() {
        let record = sample_withdrawal("w-2026112400042", "2026-11-24T09:31:07.123456789Z", false);
        let json = serde_json::to_vec(&record).unwrap().len();
        let stored = encode(&record).unwrap().len();
        assert!(stored * 3 <= json, "{stored} bytes stored for {json} bytes of JSON");
    }

    #[test]
    fn corrupt_values_are_errors_not_panics() {
        let encoded = encode(&sample_withdrawal("w-1", "2026-03-02T10:00:00Z", false)).unwrap();
        let mut huge_size = encoded.clone();
        huge_size[1..5].copy_from_slice(&u32::MAX.to_le_bytes());
        let truncated = &encoded[..encoded.len() / 2];
        for bad in [&b""[..], b"\x07abc", b"{not json", &huge_size, truncated, &encoded[..3]] {
            assert!(matches!(decode(bad), Err(StoreError::Internal(_))), "{bad:?}");
        }
    }

    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300), tag in 0u8..4) {
            let mut value = bytes;
            value.insert(0, [b'{', LZ4_DICTIONARY_V1, LZ4_DICTIONARY_V2, 0x03][tag as usize]);
            let _ = decode(&value);
        }
    }
}
