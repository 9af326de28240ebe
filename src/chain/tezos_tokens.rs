//! What a Tezos token contract's `transfer` call moves, read from its
//! Micheline argument as an Octez node writes it (JSON Micheline:
//! <https://octez.tezos.com/docs/shell/micheline.html>): FA2
//! (<https://tzip.tezosagora.org/proposal/tzip-12/>) and FA1.2
//! (<https://tzip.tezosagora.org/proposal/tzip-7/>). Pure; used by
//! `octez.rs`.

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{Asset, BaseUnits, Payment};

/// A token contract's `transfer` argument: FA2 (TZIP-12,
/// `list (pair from (list (pair to (pair token_id amount))))`), each
/// transfer as `Asset::Token("{contract}:{token_id}")`; FA1.2 (TZIP-7,
/// `pair from (pair to amount)`), as `Asset::Token("{contract}")`. Amounts
/// in the token's base units. Anything else moves no token here.
pub(super) fn token_transfers(contract: &str, value: &Value) -> Vec<Payment> {
    let token = |to: String, amount: u128, asset: String| Payment {
        to,
        amount: BaseUnits::new(amount),
        asset: Asset::Token(asset),
        memo: None,
    };
    if let Value::Array(batches) = value {
        let mut payments = Vec::new();
        for batch in batches {
            let Some(args) = pair(batch) else { continue };
            let [_from, txs] = args.as_slice() else { continue };
            let Value::Array(txs) = txs else { continue };
            for tx in txs {
                let Some(parts) = pair(tx) else { continue };
                let [to, id, amount] = parts.as_slice() else { continue };
                if let (Some(to), Some(id), Some(amount)) = (address(to), nat(id), nat(amount)) {
                    payments.push(token(to, amount, format!("{contract}:{id}")));
                }
            }
        }
        return payments;
    }
    let Some(parts) = pair(value) else { return Vec::new() };
    match parts.as_slice() {
        [_from, to, amount] => match (address(to), nat(amount)) {
            (Some(to), Some(amount)) => vec![token(to, amount, contract.to_owned())],
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// A Micheline `Pair`'s components with right combs flattened
/// (`Pair a (Pair b c)` and `Pair a b c` alike give `[a, b, c]`).
fn pair(value: &Value) -> Option<Vec<&Value>> {
    if value.get("prim").and_then(Value::as_str) != Some("Pair") {
        return None;
    }
    let args = value.get("args")?.as_array()?;
    let (last, first) = args.split_last()?;
    let mut flat: Vec<&Value> = first.iter().collect();
    match pair(last) {
        Some(rest) => flat.extend(rest),
        None => flat.push(last),
    }
    Some(flat)
}

fn nat(value: &Value) -> Option<u128> {
    value.get("int")?.as_str()?.parse().ok()
}

/// An address as `{"string": "tz1..."}` or in its binary form
/// (`{"bytes": ...}`, 22 bytes: `00` + curve tag + key hash for an
/// implicit account, `01` + contract hash + `00` for an originated one).
fn address(value: &Value) -> Option<String> {
    if let Some(text) = value.get("string").and_then(Value::as_str) {
        return Some(text.to_owned());
    }
    let text = value.get("bytes")?.as_str()?;
    if text.len() % 2 != 0 || !text.is_ascii() {
        return None;
    }
    let bytes: Vec<u8> =
        (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok()).collect::<Option<_>>()?;
    let (prefix, hash): (&[u8], &[u8]) = match bytes.as_slice() {
        [0, 0, hash @ ..] if hash.len() == 20 => (&[6, 161, 159], hash),
        [0, 1, hash @ ..] if hash.len() == 20 => (&[6, 161, 161], hash),
        [0, 2, hash @ ..] if hash.len() == 20 => (&[6, 161, 164], hash),
        [1, hash @ .., 0] if hash.len() == 20 => (&[2, 90, 121], hash),
        _ => return None,
    };
    let payload: Vec<u8> = prefix.iter().chain(hash).copied().collect();
    let check = Sha256::digest(Sha256::digest(&payload));
    let full: Vec<u8> = payload.iter().chain(&check[..4]).copied().collect();
    Some(bs58::encode(full).into_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fa2_and_fa12_transfers_pay_tokens_with_addresses_in_either_form() {
        let usdt = "KT1XnTn74bUtxHfDtBmm2bGZAQfhPbvKWR8o";
        // tz1YWK1gDPQx9N1Jh4JnmVre7xN6xhGGM4uC in its binary form.
        let bytes = {
            let raw = bs58::decode("tz1YWK1gDPQx9N1Jh4JnmVre7xN6xhGGM4uC").into_vec().unwrap();
            format!("0000{}", hex::encode(&raw[3..23]))
        };
        let fa2 = serde_json::json!([{"prim": "Pair", "args": [{"string": "tz1src"}, [
            {"prim": "Pair", "args": [{"string": "tz1a"}, {"prim": "Pair", "args": [{"int": "0"}, {"int": "2500000"}]}]},
            {"prim": "Pair", "args": [{"bytes": bytes}, {"int": "0"}, {"int": "7"}]}
        ]]}]);
        let paid: Vec<(String, u128, Asset)> =
            token_transfers(usdt, &fa2).into_iter().map(|p| (p.to, p.amount.get(), p.asset)).collect();
        let asset = Asset::Token(format!("{usdt}:0"));
        assert_eq!(
            paid,
            [
                ("tz1a".to_owned(), 2_500_000, asset.clone()),
                ("tz1YWK1gDPQx9N1Jh4JnmVre7xN6xhGGM4uC".to_owned(), 7, asset)
            ]
        );
        let fa12 = serde_json::json!({"prim": "Pair", "args": [{"string": "tz1src"},
            {"prim": "Pair", "args": [{"string": "tz1b"}, {"int": "42"}]}]});
        let paid: Vec<(String, u128, Asset)> =
            token_transfers("KT1fa12", &fa12).into_iter().map(|p| (p.to, p.amount.get(), p.asset)).collect();
        assert_eq!(paid, [("tz1b".to_owned(), 42, Asset::Token("KT1fa12".into()))]);
        assert!(token_transfers("KT1x", &serde_json::json!({"prim": "Unit"})).is_empty());
        let contract = serde_json::json!({"bytes": format!("01{}00", "ab".repeat(20))});
        assert!(address(&contract).unwrap().starts_with("KT1"));
    }
}
