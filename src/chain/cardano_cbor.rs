//! What the Blockfrost client reads from a Cardano transaction's CBOR (as
//! `/blocks/{hash}/txs/cbor` lists it): its inputs, outputs (address,
//! lovelace, native assets), `ttl` and `is_valid`. The transaction is the
//! ledger's CDDL (cardano-ledger `eras/conway/impl/cddl-files/conway.cddl`):
//! `[transaction_body, transaction_witness_set, bool, auxiliary_data / null]`
//! (Shelley to Mary have no `bool`: valid); the body a map with inputs (0,
//! a set, maybe tag 258), outputs (1: legacy `[address, amount, ?datum_hash]`
//! or post-Alonzo `{0: address, 1: amount, ...}`), ttl (3: the first slot
//! it is no longer valid in) and collateral inputs (13); an amount is a
//! coin or `[coin, {policy_id => {asset_name => uint}}]`. Anything else is
//! skipped. Nothing here does I/O; a transaction it cannot read is `None`
//! (the client then asks Blockfrost for it in JSON).

/// What one transaction says, as far as the tracker needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardanoTx {
    pub inputs: Vec<(String, u32)>,
    pub has_collateral: bool,
    pub outputs: Vec<CardanoOutput>,
    /// The body's `ttl`: the first slot in which it is no longer valid.
    pub ttl: Option<u64>,
    pub is_valid: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardanoOutput {
    /// Bech32 (`addr1...`) for Shelley addresses, base58 for Byron ones.
    pub address: String,
    pub lovelace: u64,
    /// (policy id + hex asset name, quantity), as Blockfrost writes units.
    pub assets: Vec<(String, u128)>,
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

/// A data item's head: major type and argument; `None` argument for an
/// indefinite length.
type Head = (u8, Option<u64>);

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(b)
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n)?;
        let slice = self.bytes.get(self.at..end)?;
        self.at = end;
        Some(slice)
    }

    fn head(&mut self) -> Option<Head> {
        let initial = self.byte()?;
        let (major, info) = (initial >> 5, initial & 0x1f);
        let arg = match info {
            0..=23 => Some(u64::from(info)),
            24 => Some(u64::from(self.byte()?)),
            25 => Some(u64::from(u16::from_be_bytes(self.take(2)?.try_into().ok()?))),
            26 => Some(u64::from(u32::from_be_bytes(self.take(4)?.try_into().ok()?))),
            27 => Some(u64::from_be_bytes(self.take(8)?.try_into().ok()?)),
            31 if matches!(major, 2..=5 | 7) => None,
            _ => return None,
        };
        Some((major, arg))
    }

    /// A head after any tags (tag 258 marks sets, 24 embedded CBOR, ...).
    fn untagged_head(&mut self) -> Option<Head> {
        loop {
            let head = self.head()?;
            if head.0 != 6 {
                return Some(head);
            }
        }
    }

    fn is_break(&mut self) -> bool {
        if self.peek() == Some(0xff) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn skip(&mut self, depth: u32) -> Option<()> {
        if depth > 64 {
            return None;
        }
        let (major, arg) = self.head()?;
        match (major, arg) {
            (0 | 1 | 7, _) => Some(()),
            (2 | 3, Some(n)) => self.take(usize::try_from(n).ok()?).map(|_| ()),
            (2 | 3, None) => {
                while !self.is_break() {
                    self.skip(depth + 1)?;
                }
                Some(())
            }
            (4 | 5, Some(n)) => {
                let items = if major == 5 { n.checked_mul(2)? } else { n };
                for _ in 0..items {
                    self.skip(depth + 1)?;
                }
                Some(())
            }
            (4 | 5, None) => {
                while !self.is_break() {
                    self.skip(depth + 1)?;
                    if major == 5 {
                        self.skip(depth + 1)?;
                    }
                }
                Some(())
            }
            (6, _) => self.skip(depth + 1),
            _ => None,
        }
    }

    fn uint(&mut self) -> Option<u64> {
        match self.untagged_head()? {
            (0, Some(n)) => Some(n),
            _ => None,
        }
    }

    fn bytes(&mut self) -> Option<Vec<u8>> {
        match self.untagged_head()? {
            (2, Some(n)) => self.take(usize::try_from(n).ok()?).map(<[u8]>::to_vec),
            (2, None) => {
                let mut all = Vec::new();
                while !self.is_break() {
                    all.extend(self.bytes()?);
                }
                Some(all)
            }
            _ => None,
        }
    }

    /// Calls `item` for each element of an array (or set), definite or not.
    fn array(&mut self, mut item: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        match self.untagged_head()? {
            (4, Some(n)) => (0..n).try_for_each(|_| item(self)),
            (4, None) => {
                while !self.is_break() {
                    item(self)?;
                }
                Some(())
            }
            _ => None,
        }
    }

    /// Calls `entry` for each map entry (it reads the key and the value).
    fn map(&mut self, mut entry: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        match self.untagged_head()? {
            (5, Some(n)) => (0..n).try_for_each(|_| entry(self)),
            (5, None) => {
                while !self.is_break() {
                    entry(self)?;
                }
                Some(())
            }
            _ => None,
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    data_encoding::HEXLOWER.encode(bytes)
}

/// A transaction from its CBOR in hex; `None` if it is not one.
pub fn decode_tx(cbor_hex: &str) -> Option<CardanoTx> {
    let bytes = data_encoding::HEXLOWER_PERMISSIVE.decode(cbor_hex.as_bytes()).ok()?;
    let mut r = Reader { bytes: &bytes, at: 0 };
    let (major, length) = r.untagged_head()?;
    if major != 4 {
        return None;
    }
    let mut tx = body(&mut r)?;
    r.skip(0)?; // witnesses
    tx.is_valid = match length {
        Some(4) => bool_item(&mut r)?,
        Some(3) => true,
        None if r.peek() == Some(0xf4) || r.peek() == Some(0xf5) => bool_item(&mut r)?,
        None => true,
        _ => return None,
    };
    Some(tx)
}

fn bool_item(r: &mut Reader<'_>) -> Option<bool> {
    match r.byte()? {
        0xf4 => Some(false),
        0xf5 => Some(true),
        _ => None,
    }
}

fn body(r: &mut Reader<'_>) -> Option<CardanoTx> {
    let mut tx =
        CardanoTx { inputs: Vec::new(), has_collateral: false, outputs: Vec::new(), ttl: None, is_valid: true };
    r.map(|r| {
        match r.uint()? {
            0 => r.array(|r| {
                let mut parts = Vec::new();
                r.array(|r| {
                    parts.push(match r.peek()? >> 5 {
                        2 => hex(&r.bytes()?),
                        _ => r.uint()?.to_string(),
                    });
                    Some(())
                })?;
                let [txid, index] = <[String; 2]>::try_from(parts).ok()?;
                tx.inputs.push((txid, index.parse().ok()?));
                Some(())
            })?,
            1 => r.array(|r| {
                tx.outputs.push(output(r)?);
                Some(())
            })?,
            3 => tx.ttl = Some(r.uint()?),
            13 => {
                let mut any = false;
                r.skip_counting(&mut any)?;
                tx.has_collateral |= any;
            }
            _ => r.skip(0)?,
        }
        Some(())
    })?;
    Some(tx)
}

impl Reader<'_> {
    /// Skips a collateral input set, noting whether it holds any input.
    fn skip_counting(&mut self, any: &mut bool) -> Option<()> {
        self.array(|r| {
            *any = true;
            r.skip(0)
        })
    }
}

fn output(r: &mut Reader<'_>) -> Option<CardanoOutput> {
    let (mut address, mut amount) = (None, None);
    match r.peek()? >> 5 {
        4 => {
            let mut index = 0;
            r.array(|r| {
                match index {
                    0 => address = Some(r.bytes()?),
                    1 => amount = Some(value(r)?),
                    _ => r.skip(0)?,
                }
                index += 1;
                Some(())
            })?;
        }
        5 => r.map(|r| {
            match r.uint()? {
                0 => address = Some(r.bytes()?),
                1 => amount = Some(value(r)?),
                _ => r.skip(0)?,
            }
            Some(())
        })?,
        _ => return None,
    }
    let (lovelace, assets) = amount?;
    Some(CardanoOutput { address: address_text(&address?)?, lovelace, assets })
}

fn value(r: &mut Reader<'_>) -> Option<(u64, Vec<(String, u128)>)> {
    if r.peek()? >> 5 == 0 {
        return Some((r.uint()?, Vec::new()));
    }
    let mut lovelace = None;
    let mut assets = Vec::new();
    let mut index = 0;
    r.array(|r| {
        match index {
            0 => lovelace = Some(r.uint()?),
            1 => r.map(|r| {
                let policy = hex(&r.bytes()?);
                r.map(|r| {
                    let name = hex(&r.bytes()?);
                    assets.push((format!("{policy}{name}"), u128::from(r.uint()?)));
                    Some(())
                })
            })?,
            _ => r.skip(0)?,
        }
        index += 1;
        Some(())
    })?;
    Some((lovelace?, assets))
}

/// An address's bytes in its text form: bech32 with `addr`/`addr_test`
/// (`stake`/`stake_test` for reward addresses) by the header's network id,
/// base58 for Byron (header type 8), as CIP-19 writes them.
pub fn address_text(bytes: &[u8]) -> Option<String> {
    let header = *bytes.first()?;
    let mainnet = header & 0x0f == 1;
    let hrp = match header >> 4 {
        0..=7 if mainnet => "addr",
        0..=7 => "addr_test",
        8 => return Some(bs58::encode(bytes).into_string()),
        14 | 15 if mainnet => "stake",
        14 | 15 => "stake_test",
        _ => return None,
    };
    Some(bech32_encode(hrp, bytes))
}

const CHARSET: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";

fn polymod(values: impl IntoIterator<Item = u8>) -> u32 {
    const GEN: [u32; 5] = [0x3b6a_57b2, 0x2650_8e6d, 0x1ea1_19fa, 0x3d42_33dd, 0x2a14_62b3];
    let mut chk = 1u32;
    for v in values {
        let top = chk >> 25;
        chk = ((chk & 0x01ff_ffff) << 5) ^ u32::from(v);
        for (i, g) in GEN.iter().enumerate() {
            if (top >> i) & 1 == 1 {
                chk ^= g;
            }
        }
    }
    chk
}

/// BIP-173 bech32 (not bech32m, as Cardano uses), without a length limit.
fn bech32_encode(hrp: &str, bytes: &[u8]) -> String {
    let mut data = Vec::with_capacity(bytes.len() * 8 / 5 + 1);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            data.push(((acc >> bits) & 31) as u8);
        }
    }
    if bits > 0 {
        data.push(((acc << (5 - bits)) & 31) as u8);
    }
    let expanded = hrp.bytes().map(|b| b >> 5).chain([0]).chain(hrp.bytes().map(|b| b & 31));
    let checksum = polymod(expanded.chain(data.iter().copied()).chain([0; 6])) ^ 1;
    let mut text = format!("{hrp}1");
    text.extend(data.iter().map(|&d| CHARSET[d as usize] as char));
    text.extend((0..6).map(|i| CHARSET[((checksum >> (5 * (5 - i))) & 31) as usize] as char));
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::address::validate;
    use crate::domain::network::Network;

    const PAYEE: &str =
        "addr1q8gg2r3vf9zggn48g7m8vx62rwf6warcs4k7ej8mdzmqmesj30jz7psduyk6n4n2qrud2xlv9fgj53n6ds3t8cs4fvzs05yzmz";

    /// The example transaction of Blockfrost's `/txs/{hash}/cbor`
    /// (`tx_content_cbor`): one input, two outputs, fee, ttl.
    const BLOCKFROST_EXAMPLE: &str = "84a40081825820203e5b61e0949ffc8fe594727cf7ed73c7396cc2bd212af9a680c9423b5880eb00018282583900f0c60254ecb0addd4c7e40c28fd05b65014ab4c8ecece06c7dcee5a0724bf93336a8225e7ef152b41aea955173be91af19250edea1ddafab1a000f42408258390014beadb876d0a2a593fe2f1b539389e00731290910170e9a1be78e847d2ccdc7af469706878018739bcfde9ae23f009c4ae38aee0a4b4f3a1b0000000253fa0f93021a0002922d031a0303c827a100818258207d3ae39f9a1c916ac7c13f10c7d67c70b870c286a1af71485455c5022a3f391d5840e2f481acd1601a3f39fa976317bba685ddd774621a92611edaaa3df9f48a3b13d8b25ecb2f28b031c1602512418efed3033e463a0dcd22a856c808033cc9e00ff5f6";

    #[test]
    fn reads_the_documented_example() {
        let tx = decode_tx(BLOCKFROST_EXAMPLE).expect("a transaction");
        assert_eq!(tx.inputs, vec![("203e5b61e0949ffc8fe594727cf7ed73c7396cc2bd212af9a680c9423b5880eb".into(), 0)]);
        assert_eq!(tx.outputs.len(), 2);
        assert_eq!(tx.outputs[0].lovelace, 1_000_000);
        assert_eq!(tx.outputs[1].lovelace, 9_998_831_507);
        assert_eq!(tx.ttl, Some(50_579_495));
        assert!(tx.is_valid && !tx.has_collateral);
        for output in &tx.outputs {
            // Header 0x00: a base address on network 0, a test network.
            assert!(output.address.starts_with("addr_test1"), "{}", output.address);
        }
    }

    #[test]
    fn bech32_round_trips_a_real_address() {
        let bytes = {
            assert!(validate(Network::Ada, PAYEE, None).valid);
            // Decode by hand: the data part after "addr1", minus the checksum.
            let data: Vec<u8> = PAYEE[5..PAYEE.len() - 6]
                .bytes()
                .map(|c| CHARSET.iter().position(|&x| x == c).unwrap() as u8)
                .collect();
            let (mut acc, mut bits, mut out) = (0u32, 0u32, Vec::new());
            for v in data {
                acc = (acc << 5) | u32::from(v);
                bits += 5;
                if bits >= 8 {
                    bits -= 8;
                    out.push((acc >> bits) as u8);
                    acc &= (1 << bits) - 1;
                }
            }
            out
        };
        assert_eq!(address_text(&bytes).as_deref(), Some(PAYEE));
    }

    #[test]
    fn garbage_is_none() {
        assert_eq!(decode_tx("zz"), None);
        assert_eq!(decode_tx("a0"), None, "a map is not a transaction");
        assert_eq!(decode_tx("84a1"), None, "truncated");
        assert_eq!(decode_tx(""), None);
    }
}
