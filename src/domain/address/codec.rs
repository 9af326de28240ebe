//! Codecs shared by several address families. Every decoder reports failures as
//! `AddressError`s so the family modules only add network-specific meaning.

use super::{fail, AddressError, ErrorCode};
use sha2::{Digest, Sha256};

pub const CRC16_XMODEM: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_16_XMODEM);

// ---------------------------------------------------------------- base58

/// Decodes into a caller-owned stack buffer so hostile, over-long input fails with
/// `bad_length` before any allocation.
pub fn base58_decode<'a>(
    s: &str,
    alphabet: &'static bs58::Alphabet,
    buf: &'a mut [u8],
) -> Result<&'a [u8], AddressError> {
    match bs58::decode(s).with_alphabet(alphabet).onto(&mut *buf) {
        Ok(n) => Ok(&buf[..n]),
        Err(bs58::decode::Error::InvalidCharacter { character, index }) => Err(fail(
            ErrorCode::BadCharacter,
            format!("character '{character}' at position {index} is not in the base58 alphabet"),
        )),
        Err(bs58::decode::Error::NonAsciiCharacter { index }) => {
            Err(fail(ErrorCode::BadCharacter, format!("non-ASCII character at position {index}")))
        }
        Err(bs58::decode::Error::BufferTooSmall) => {
            Err(fail(ErrorCode::BadLength, "base58 payload is longer than any address of this kind"))
        }
        Err(_) => Err(fail(ErrorCode::BadCharacter, "invalid base58 string")),
    }
}

pub fn double_sha256_checksum(data: &[u8]) -> [u8; 4] {
    let h = Sha256::digest(Sha256::digest(data));
    [h[0], h[1], h[2], h[3]]
}

/// `bytes` = payload || 4-byte double-SHA256 checksum. Returns the payload.
pub fn verify_base58check(bytes: &[u8]) -> Result<&[u8], AddressError> {
    if bytes.len() < 5 {
        return Err(fail(ErrorCode::BadLength, "base58check payload is too short"));
    }
    let (payload, sum) = bytes.split_at(bytes.len() - 4);
    if double_sha256_checksum(payload) != sum {
        return Err(fail(ErrorCode::BadChecksum, "base58check checksum does not match"));
    }
    Ok(payload)
}

// ---------------------------------------------------------------- bech32 / bech32m

pub const CHARSET: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";
const CHARSET_REV: [i8; 128] = {
    let mut t = [-1i8; 128];
    let mut i = 0;
    while i < 32 {
        t[CHARSET[i] as usize] = i as i8;
        t[CHARSET[i].to_ascii_uppercase() as usize] = i as i8;
        i += 1;
    }
    t
};
const BECH32_CONST: u32 = 1;
const BECH32M_CONST: u32 = 0x2bc8_30a3;

/// Value of a bech32 alphabet character (either case).
pub fn bech32_value(c: u8) -> Option<u8> {
    let v = *CHARSET_REV.get(c as usize)?;
    (v >= 0).then_some(v as u8)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bech32Variant {
    Bech32,
    Bech32m,
}

impl Bech32Variant {
    pub fn name(self) -> &'static str {
        match self {
            Bech32Variant::Bech32 => "bech32",
            Bech32Variant::Bech32m => "bech32m",
        }
    }
}

pub struct Bech32Parts {
    /// Always lower-case.
    pub hrp: String,
    /// 5-bit groups, checksum removed.
    pub data: Vec<u8>,
    pub variant: Bech32Variant,
}

fn polymod_step(chk: u32, v: u8) -> u32 {
    const GEN: [u32; 5] = [0x3b6a_57b2, 0x2650_8e6d, 0x1ea1_19fa, 0x3d42_33dd, 0x2a14_62b3];
    let top = chk >> 25;
    let mut c = ((chk & 0x01ff_ffff) << 5) ^ v as u32;
    for (i, g) in GEN.iter().enumerate() {
        if (top >> i) & 1 == 1 {
            c ^= g;
        }
    }
    c
}

fn hrp_polymod(hrp: &[u8]) -> u32 {
    let mut chk = 1u32;
    for &b in hrp {
        chk = polymod_step(chk, b >> 5);
    }
    chk = polymod_step(chk, 0);
    for &b in hrp {
        chk = polymod_step(chk, b & 31);
    }
    chk
}

/// BIP-173 decoding with a caller-chosen length limit: segwit keeps 90, while Zcash
/// Sapling and Cardano legitimately exceed it.
pub fn bech32_decode(s: &str, max_len: usize) -> Result<Bech32Parts, AddressError> {
    if s.len() > max_len {
        return Err(fail(
            ErrorCode::BadLength,
            format!("bech32 string is {} characters, the limit is {max_len}", s.len()),
        ));
    }
    let bytes = s.as_bytes();
    let (mut lower, mut upper) = (false, false);
    for (i, &b) in bytes.iter().enumerate() {
        if !(33..=126).contains(&b) {
            return Err(fail(ErrorCode::BadCharacter, format!("invalid character at position {i}")));
        }
        lower |= b.is_ascii_lowercase();
        upper |= b.is_ascii_uppercase();
    }
    if lower && upper {
        return Err(fail(
            ErrorCode::BadCharacter,
            "mixed-case bech32 string (it must be all lower-case or all upper-case)",
        ));
    }
    let sep = match s.rfind('1') {
        Some(0) => return Err(fail(ErrorCode::BadPrefix, "bech32 human-readable part is empty")),
        Some(p) => p,
        None => return Err(fail(ErrorCode::BadCharacter, "bech32 separator '1' is missing")),
    };
    let hrp = s[..sep].to_ascii_lowercase();
    let data_part = &bytes[sep + 1..];
    if data_part.len() < 6 {
        return Err(fail(ErrorCode::BadLength, "bech32 checksum is too short"));
    }
    let mut data = Vec::with_capacity(data_part.len());
    let mut chk = hrp_polymod(hrp.as_bytes());
    for (i, &c) in data_part.iter().enumerate() {
        let v = CHARSET_REV[c as usize];
        if v < 0 {
            return Err(fail(
                ErrorCode::BadCharacter,
                format!("character '{}' at position {} is not in the bech32 alphabet", c as char, sep + 1 + i),
            ));
        }
        chk = polymod_step(chk, v as u8);
        data.push(v as u8);
    }
    let variant = match chk {
        BECH32_CONST => Bech32Variant::Bech32,
        BECH32M_CONST => Bech32Variant::Bech32m,
        _ => return Err(fail(ErrorCode::BadChecksum, "bech32 checksum does not match")),
    };
    data.truncate(data.len() - 6);
    Ok(Bech32Parts { hrp, data, variant })
}

/// 5-bit groups to bytes, enforcing BIP-173's padding rules (at most 4 zero bits).
pub fn from_base32(data5: &[u8]) -> Result<Vec<u8>, AddressError> {
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    let mut out = Vec::with_capacity(data5.len() * 5 / 8);
    for &v in data5 {
        acc = (acc << 5) | v as u32;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    if bits >= 5 {
        return Err(fail(ErrorCode::BadLength, "bech32 data has more than 4 bits of padding"));
    }
    if acc & ((1 << bits) - 1) != 0 {
        return Err(fail(ErrorCode::BadCharacter, "bech32 data has non-zero padding bits"));
    }
    Ok(out)
}

pub fn to_base32(bytes: &[u8]) -> Vec<u8> {
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    let mut out = Vec::with_capacity(bytes.len() * 8 / 5 + 1);
    for &b in bytes {
        acc = (acc << 8) | b as u32;
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(((acc >> bits) & 31) as u8);
        }
    }
    if bits > 0 {
        out.push(((acc << (5 - bits)) & 31) as u8);
    }
    out
}

// ---------------------------------------------------------------- hex

pub fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Checks that `s` is hex and reports the first offending character.
pub fn check_hex(s: &str, offset: usize) -> Result<(), AddressError> {
    match s.bytes().position(|b| hex_val(b).is_none()) {
        None => Ok(()),
        Some(i) => Err(fail(
            ErrorCode::BadCharacter,
            format!(
                "character '{}' at position {} is not a hexadecimal digit",
                s[i..].chars().next().unwrap_or('?'),
                i + offset
            ),
        )),
    }
}

// ---------------------------------------------------------------- base32 (RFC 4648)

/// RFC 4648 base32 without padding, strict about length and trailing bits. The input
/// must already be upper-case.
pub fn base32_decode(s: &str) -> Result<Vec<u8>, AddressError> {
    if let Some(i) = s.bytes().position(|b| !matches!(b, b'A'..=b'Z' | b'2'..=b'7')) {
        return Err(fail(
            ErrorCode::BadCharacter,
            format!(
                "character '{}' at position {i} is not in the base32 alphabet",
                s[i..].chars().next().unwrap_or('?')
            ),
        ));
    }
    data_encoding::BASE32_NOPAD.decode(s.as_bytes()).map_err(|e| match e.kind {
        data_encoding::DecodeKind::Length => fail(ErrorCode::BadLength, "base32 length is not a valid encoding length"),
        _ => fail(ErrorCode::BadCharacter, "base32 string has non-zero trailing bits"),
    })
}
