//! Cardano: Shelley bech32 (`addr1...`, CIP-19) and Byron base58 (CBOR + CRC32).
//! Stake (reward) addresses cannot receive ordinary payments and are refused.

use super::codec::{self, Bech32Variant};
use super::{fail, AddressError, ErrorCode, Parsed};

const CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

pub fn parse(s: &str) -> Result<Parsed, AddressError> {
    let lower_prefix = s.get(..5).map(|p| p.to_ascii_lowercase()).unwrap_or_default();
    if lower_prefix.starts_with("addr") || lower_prefix.starts_with("stake") {
        shelley(s)
    } else {
        byron(s)
    }
}

fn shelley(s: &str) -> Result<Parsed, AddressError> {
    let parts = codec::bech32_decode(s, 256)?;
    match parts.hrp.as_str() {
        "addr" => {}
        "addr_test" | "stake_test" => {
            return Err(fail(
                ErrorCode::WrongNetwork,
                format!("bech32 HRP '{}' is Cardano testnet, not mainnet", parts.hrp),
            ))
        }
        "stake" => return Err(fail(ErrorCode::UnsupportedKind, "stake (reward) addresses cannot receive payments")),
        other => {
            return Err(fail(ErrorCode::BadPrefix, format!("bech32 HRP '{other}' is not a Cardano address prefix")))
        }
    }
    if parts.variant != Bech32Variant::Bech32 {
        return Err(fail(ErrorCode::BadChecksum, "Cardano addresses use a bech32 checksum, not bech32m"));
    }
    let bytes = codec::from_base32(&parts.data)?;
    let Some(&header) = bytes.first() else {
        return Err(fail(ErrorCode::BadLength, "address has no header byte"));
    };
    if header & 0x0f != 1 {
        return Err(fail(ErrorCode::WrongNetwork, format!("header network id is {}, mainnet is 1", header & 0x0f)));
    }
    let (kind, ok) = match header >> 4 {
        0..=3 => ("base", bytes.len() == 57),
        4 | 5 => ("pointer", bytes.len() > 29 && pointer_ok(&bytes[29..])),
        6 | 7 => ("enterprise", bytes.len() == 29),
        t => return Err(fail(ErrorCode::BadPrefix, format!("header type {t} is not a payment address"))),
    };
    if !ok {
        return Err(fail(ErrorCode::BadLength, format!("{} bytes is not a valid {kind} address length", bytes.len())));
    }
    Ok(Parsed::new(s.to_ascii_lowercase(), kind))
}

/// A pointer is exactly three base-128 varints (slot, tx index, cert index).
fn pointer_ok(mut b: &[u8]) -> bool {
    for _ in 0..3 {
        let Some(end) = b.iter().position(|x| x & 0x80 == 0) else { return false };
        if end >= 9 {
            return false;
        }
        b = &b[end + 1..];
    }
    b.is_empty()
}

// ---------------------------------------------------------------- Byron

struct Cbor<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Cbor<'a> {
    fn head(&mut self) -> Option<(u8, u64)> {
        let ib = *self.b.get(self.pos)?;
        self.pos += 1;
        let n = match ib & 31 {
            v @ 0..=23 => return Some((ib >> 5, v as u64)),
            24 => 1,
            25 => 2,
            26 => 4,
            27 => 8,
            _ => return None,
        };
        let raw = self.b.get(self.pos..self.pos + n)?;
        self.pos += n;
        Some((ib >> 5, raw.iter().fold(0u64, |a, &x| (a << 8) | x as u64)))
    }
    fn expect(&mut self, major: u8) -> Option<u64> {
        let (m, v) = self.head()?;
        (m == major).then_some(v)
    }
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.expect(2)? as usize;
        let out = self.b.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(out)
    }
}

fn byron(s: &str) -> Result<Parsed, AddressError> {
    let mut buf = [0u8; 200];
    let raw = codec::base58_decode(s, bs58::Alphabet::BITCOIN, &mut buf)?;
    let bad = || fail(ErrorCode::BadPrefix, "not a Cardano address: expected addr1... or a Byron base58 address");
    // Outer: [ tag24(bytes payload), crc32 ]
    let mut c = Cbor { b: raw, pos: 0 };
    if c.expect(4) != Some(2) || c.expect(6) != Some(24) {
        return Err(bad());
    }
    let payload = c.bytes().ok_or_else(bad)?;
    let crc = c.expect(0).ok_or_else(bad)?;
    if c.pos != raw.len() {
        return Err(fail(ErrorCode::BadLength, "trailing bytes after the Byron address structure"));
    }
    if CRC32.checksum(payload) as u64 != crc {
        return Err(fail(ErrorCode::BadChecksum, "Byron address CRC32 does not match"));
    }
    // Inner: [ root(28 bytes), attributes{1: path, 2: network magic}, type ]
    let mut p = Cbor { b: payload, pos: 0 };
    if p.expect(4) != Some(3) || p.bytes().map(|r| r.len()) != Some(28) {
        return Err(bad());
    }
    let attrs = p.expect(5).ok_or_else(bad)?;
    let mut testnet = false;
    for _ in 0..attrs {
        let key = p.expect(0).ok_or_else(bad)?;
        p.bytes().ok_or_else(bad)?;
        testnet |= key == 2;
    }
    let addr_type = p.expect(0).ok_or_else(bad)?;
    if p.pos != payload.len() {
        return Err(bad());
    }
    if testnet {
        return Err(fail(ErrorCode::WrongNetwork, "Byron address carries a network magic, so it is not mainnet"));
    }
    if addr_type != 0 {
        return Err(fail(ErrorCode::UnsupportedKind, "only public-key Byron addresses are supported"));
    }
    Ok(Parsed::new(s.to_string(), "byron"))
}
