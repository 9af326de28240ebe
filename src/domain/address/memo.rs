//! Memo / destination-tag rules. Returns the normalized memo (`None` when absent).

/// No network's memo is longer (EOS: 256 bytes, Cosmos: 256 characters); the
/// networks' own rules below are tighter where they count bytes.
pub const MAX_MEMO_CHARS: usize = 256;

use super::{fail, AddressError, ErrorCode};
use crate::domain::network::MemoRule;
use crate::domain::network::Network;

pub fn check(network: Network, memo: Option<&str>, embedded_tag: Option<u32>) -> Result<Option<String>, AddressError> {
    // Form fields arrive as "" when left blank; treating that as a memo would reject
    // every withdrawal to a memo-less network.
    let memo = memo.filter(|m| !m.is_empty());
    let rule = network.memo_rule();
    let Some(memo) = memo else {
        return Ok(embedded_tag.map(|t| t.to_string()));
    };
    // Bounds every memo meets, whatever its network counts; a network
    // without memos refuses any (below) with its own code.
    if rule != MemoRule::None {
        let chars = memo.chars().count();
        if chars > MAX_MEMO_CHARS {
            return Err(fail(ErrorCode::BadMemo, format!("memo is {chars} characters, the limit is {MAX_MEMO_CHARS}")));
        }
        // Nothing a wallet sends as a memo contains them; a ticket or a CSV
        // line holding one would be garbled.
        if memo.chars().any(char::is_control) {
            return Err(fail(ErrorCode::BadMemo, "memo must not contain control characters"));
        }
    }
    match rule {
        MemoRule::None => {
            Err(fail(ErrorCode::MemoNotSupported, format!("{network} transfers do not carry a memo; remove it")))
        }
        MemoRule::XrpDestinationTag => {
            let tag = parse_decimal(memo, u32::MAX as u64).ok_or_else(|| {
                fail(ErrorCode::BadMemo, "destination tag must be a decimal integer between 0 and 4294967295")
            })? as u32;
            match embedded_tag {
                Some(t) if t != tag => Err(fail(
                    ErrorCode::BadMemo,
                    format!("X-address carries destination tag {t} but the separate tag is {tag}"),
                )),
                _ => Ok(Some(tag.to_string())),
            }
        }
        MemoRule::StellarTextOrId => {
            if memo.bytes().all(|b| b.is_ascii_digit()) {
                let id = parse_decimal(memo, u64::MAX).ok_or_else(|| {
                    fail(ErrorCode::BadMemo, "numeric memo id does not fit an unsigned 64-bit integer")
                })?;
                Ok(Some(id.to_string()))
            } else {
                max_bytes(memo, 28, "Stellar text memo")
            }
        }
        MemoRule::EosMemo => max_bytes(memo, 256, "EOS memo"),
        MemoRule::CosmosMemo => {
            let n = memo.chars().count();
            if n > 256 {
                return Err(fail(ErrorCode::BadMemo, format!("Cosmos memo is {n} characters, the limit is 256")));
            }
            Ok(Some(memo.to_string()))
        }
        MemoRule::TonComment => max_bytes(memo, 120, "TON comment"),
        MemoRule::HederaMemo => max_bytes(memo, 100, "Hedera memo"),
    }
}

fn max_bytes(memo: &str, limit: usize, what: &str) -> Result<Option<String>, AddressError> {
    if memo.len() > limit {
        return Err(fail(ErrorCode::BadMemo, format!("{what} is {} bytes, the limit is {limit}", memo.len())));
    }
    Ok(Some(memo.to_string()))
}

/// Plain ASCII digits only: no sign, no spaces, no hex, so "+5" or "5 " is rejected
/// rather than silently reinterpreted.
fn parse_decimal(s: &str, max: u64) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<u64>().ok().filter(|&v| v <= max)
}
