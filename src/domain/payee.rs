//! Whether a transaction pays a withdrawal: its address, its amount in base
//! units, in the right asset (and, where one address serves many, with its
//! destination tag). Pure: the chain tracker hands over the payments it saw
//! (`onchain::Payment`), this says whether one of them is the withdrawal's.

use std::collections::BTreeMap;

use super::onchain::{Asset, BaseUnits, Payment};
use super::{Network, Withdrawal};

/// What a network's payments are measured in, from its configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PayeeRules {
    /// Decimals of the chain's own coin.
    pub native_decimals: u32,
    /// Coin code -> (contract, decimals), for token withdrawals.
    pub tokens: BTreeMap<String, (String, u32)>,
}

/// What a correct payment for one withdrawal looks like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedPayment {
    asset: Asset,
    units: BaseUnits,
    /// In the form payments carry it: EVM addresses in lowercase (the case
    /// of a checksummed address is no part of it), TON addresses in their raw
    /// `wc:hex` form (user-friendly and raw forms name one account).
    to: String,
    /// XRPL, Stellar, TON, EOS, Cosmos: one address serves many accounts, told apart by
    /// the destination tag, the memo or the text comment, which must be the
    /// withdrawal's (none when it has none). `None` on chains where a
    /// payment's memo says nothing about its payee.
    tag: Option<Option<String>>,
}

/// What the payee check concluded about one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayeeVerdict {
    Verified,
    /// What the chain shows instead, for the ticket.
    Mismatch(String),
}

impl ExpectedPayment {
    /// The asset, base units and payee a correct payment for `w` has; an
    /// amount that cannot be paid in the asset's base units is a mismatch
    /// by itself.
    pub fn of(w: &Withdrawal, rules: &PayeeRules) -> Result<ExpectedPayment, String> {
        let (asset, decimals) = match rules.tokens.get(&w.coin) {
            Some((contract, decimals)) => (Asset::Token(payment_form(w.network, contract)), *decimals),
            None => (Asset::Native, rules.native_decimals),
        };
        let units = BaseUnits::from_decimal(w.amount.as_str(), decimals)
            .map_err(|error| format!("the amount {} cannot be paid in base units: {error}", w.amount))?;
        let to = payment_form(w.network, &w.address);
        let tag = matches!(w.network, Network::Xrp | Network::Xlm | Network::Ton | Network::Eos | Network::Atom)
            .then(|| w.memo.clone());
        // Hedera: an exchange's account tells deposits apart by the memo.
        let tag = tag.or_else(|| (w.network == Network::Hbar).then(|| w.memo.clone()));
        Ok(ExpectedPayment { asset, units, to, tag })
    }

    pub fn paid_by(&self, payment: &Payment) -> bool {
        let tag_ok = self.tag.as_ref().is_none_or(|tag| payment.memo == *tag);
        payment.asset == self.asset && payment.amount == self.units && payment.to == self.to && tag_ok
    }
}

/// An address or token contract as the network's payments carry it: EVM
/// hex and Sui (hex addresses, coin types as the Sui client normalizes
/// them) in lowercase, TON in its raw `wc:hex` form; elsewhere as written
/// (base58, Stellar asset codes and the like are case-sensitive).
fn payment_form(network: Network, address: &str) -> String {
    if network.is_evm() || network == Network::Sui {
        address.to_ascii_lowercase()
    } else if network == Network::Ton {
        super::address::ton_raw_form(address).unwrap_or_else(|| address.to_owned())
    } else {
        address.to_owned()
    }
}

/// Does one of `payments` pay `w` exactly: its address, its amount in base
/// units, in the right asset?
pub fn check(w: &Withdrawal, payments: &[Payment], rules: &PayeeRules) -> PayeeVerdict {
    let expected = match ExpectedPayment::of(w, rules) {
        Ok(expected) => expected,
        Err(problem) => return PayeeVerdict::Mismatch(problem),
    };
    if payments.iter().any(|p| expected.paid_by(p)) {
        return PayeeVerdict::Verified;
    }
    let shown: Vec<String> = payments
        .iter()
        .take(5)
        .map(|p| match &p.asset {
            Asset::Token(token) => format!("{} to {} (token {token})", p.amount, p.to),
            Asset::Native => format!("{} to {}", p.amount, p.to),
        })
        .collect();
    PayeeVerdict::Mismatch(format!(
        "expected {} base units ({} {}) to {}; the transaction pays: {}",
        expected.units,
        w.amount,
        w.coin,
        w.address,
        if shown.is_empty() { "nothing".to_owned() } else { shown.join(", ") }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::address::ValidatedAddress;
    use crate::domain::{Amount, Registration, UserId, WithdrawalId};

    const ETH_CHECKSUMMED: &str = "0x52908400098527886E0F7030069857D2E4169EE7";
    const USDT_ERC20: &str = "0xdAC17F958D2ee523a2206206994597C13D831ec7";
    const XRP_ADDRESS: &str = "rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh";

    fn withdrawal(network: Network, coin: &str, address: &str, memo: Option<&str>, amount: &str) -> Withdrawal {
        let registration = Registration {
            id: WithdrawalId::parse("w-1").unwrap(),
            user_id: UserId::parse("u-1").unwrap(),
            coin: coin.into(),
            destination: ValidatedAddress::parse(network, address, memo).unwrap(),
            amount: Amount::parse(amount).unwrap(),
            requested_at: None,
            tx_hash: None,
        };
        Withdrawal::register(registration, crate::domain::at("2026-03-02T10:00:00Z"))
    }

    const USDC_XLM: &str = "USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN";
    const TON_FRIENDLY: &str = "EQDKbjIcfM6ezt8KjKJJLshZJJSqX7XOA4ff-W72r5gqPrHF";
    const TON_RAW: &str = "0:ca6e321c7cce9ecedf0a8ca2492ec8592494aa5fb5ce0387dff96ef6af982a3e";
    const USDT_TON: &str = "EQCxE6mUtQJKFnGfaROTKOt1lZbDiiX1kCixRv7Nw2Id_sDs";
    const USDT_TON_RAW: &str = "0:b113a994b5024a16719f69139328eb759596c38a25f59028b146fecdc3621dfe";

    fn rules(network: Network) -> PayeeRules {
        let token = match network {
            Network::Xlm => ("USDC", USDC_XLM, 7),
            Network::Ton => ("USDT", USDT_TON, 6),
            _ => ("USDT", USDT_ERC20, 6),
        };
        let tokens = [(token.0.to_owned(), (token.1.to_owned(), token.2))].into();
        PayeeRules { native_decimals: network.native_decimals(), tokens }
    }

    fn native(to: &str, units: u128) -> Payment {
        Payment { to: to.into(), amount: BaseUnits::new(units), asset: Asset::Native, memo: None }
    }

    fn token(contract: &str, to: &str, units: u128) -> Payment {
        Payment { to: to.into(), amount: BaseUnits::new(units), asset: Asset::Token(contract.into()), memo: None }
    }

    fn tagged(to: &str, units: u128, tag: Option<&str>) -> Payment {
        Payment { memo: tag.map(str::to_owned), ..native(to, units) }
    }

    #[test]
    fn the_atom_memo_is_the_deposit_tag_and_near_has_none() {
        const ATOM: &str = "cosmos1fl48vsnmsdzcv85q5d2q4z5ajdha8yu34mf0eh";
        let rules = PayeeRules { native_decimals: 6, tokens: BTreeMap::new() };
        let atom = withdrawal(Network::Atom, "ATOM", ATOM, Some("104729"), "1.5");
        let untagged = withdrawal(Network::Atom, "ATOM", ATOM, None, "1.5");
        let paid = |memo: Option<&str>| Payment { memo: memo.map(str::to_owned), ..native(ATOM, 1_500_000) };
        assert_eq!(check(&atom, &[paid(Some("104729"))], &rules), PayeeVerdict::Verified);
        assert!(matches!(check(&atom, &[paid(Some("104730"))], &rules), PayeeVerdict::Mismatch(_)));
        assert!(matches!(check(&atom, &[paid(None)], &rules), PayeeVerdict::Mismatch(_)));
        assert_eq!(check(&untagged, &[paid(None)], &rules), PayeeVerdict::Verified);
        assert!(matches!(check(&untagged, &[paid(Some("1"))], &rules), PayeeVerdict::Mismatch(_)));

        let rules = PayeeRules { native_decimals: 24, tokens: BTreeMap::new() };
        let near = withdrawal(Network::Near, "NEAR", "bob.near", None, "1");
        let memo = Payment { memo: Some("anything".into()), ..native("bob.near", 10u128.pow(24)) };
        assert_eq!(check(&near, &[memo], &rules), PayeeVerdict::Verified, "a NEAR memo says nothing of the payee");
    }

    #[test]
    fn the_payee_rules_table() {
        let eth = withdrawal(Network::Eth, "ETH", ETH_CHECKSUMMED, None, "1.5");
        let eth_usdt = withdrawal(Network::Eth, "USDT", ETH_CHECKSUMMED, None, "25.50");
        let btc = withdrawal(Network::Btc, "BTC", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", None, "0.00000001");
        let xrp = withdrawal(Network::Xrp, "XRP", XRP_ADDRESS, Some("7"), "10");
        let xrp_untagged = withdrawal(Network::Xrp, "XRP", XRP_ADDRESS, None, "10");
        let xlm = withdrawal(
            Network::Xlm,
            "XLM",
            "GAAZI4TCR3TY5OJHCTJC2A4QSY6CJWJH5IAJTGKIN2ER7LBNVKOCCWN7",
            Some("12345"),
            "1",
        );
        let xlm_usdc = withdrawal(Network::Xlm, "USDC", &xlm.address, Some("12345"), "1");
        let ton = withdrawal(Network::Ton, "TON", TON_FRIENDLY, Some("order 7"), "1.5");
        let ton_usdt = withdrawal(Network::Ton, "USDT", TON_FRIENDLY, Some("order 7"), "2");
        let eos = withdrawal(Network::Eos, "EOS", "eosio.token", Some("memo"), "1");
        let eth_lower = ETH_CHECKSUMMED.to_ascii_lowercase();
        let usdt_lower = USDT_ERC20.to_ascii_lowercase();
        let wei = 1_500_000_000_000_000_000;
        let cases: Vec<(&str, &Withdrawal, Payment, bool)> = vec![
            ("EVM: a checksummed address is paid in lowercase", &eth, native(&eth_lower, wei), true),
            ("EVM: one wei less is not the amount", &eth, native(&eth_lower, wei - 1), false),
            ("EVM: another address", &eth, native(&format!("0x{}", "11".repeat(20)), wei), false),
            ("EVM: the amount in a token is not the coin", &eth, token(&usdt_lower, &eth_lower, wei), false),
            (
                "token: contract and payee compared in lowercase",
                &eth_usdt,
                token(&usdt_lower, &eth_lower, 25_500_000),
                true,
            ),
            ("token: the native coin is not the token", &eth_usdt, native(&eth_lower, 25_500_000), false),
            (
                "token: another contract",
                &eth_usdt,
                token(&format!("0x{}", "22".repeat(20)), &eth_lower, 25_500_000),
                false,
            ),
            (
                "token: its own decimals, not the chain's",
                &eth_usdt,
                token(&usdt_lower, &eth_lower, 25_500_000_000_000_000_000),
                false,
            ),
            ("UTXO: one satoshi", &btc, native("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", 1), true),
            ("UTXO: addresses are compared as they are", &btc, native("1a1zp1ep5qgefi2dmptftl5slmv7divfna", 1), false),
            ("XRP: the destination tag must match", &xrp, tagged(XRP_ADDRESS, 10_000_000, Some("7")), true),
            ("XRP: another tag", &xrp, tagged(XRP_ADDRESS, 10_000_000, Some("8")), false),
            ("XRP: no tag", &xrp, tagged(XRP_ADDRESS, 10_000_000, None), false),
            ("XRP: no tag expected, none sent", &xrp_untagged, tagged(XRP_ADDRESS, 10_000_000, None), true),
            ("XRP: no tag expected, one sent", &xrp_untagged, tagged(XRP_ADDRESS, 10_000_000, Some("7")), false),
            ("XLM: the memo must match", &xlm, tagged(&xlm.address, 10_000_000, Some("12345")), true),
            ("XLM: another memo", &xlm, tagged(&xlm.address, 10_000_000, Some("12346")), false),
            ("XLM: no memo", &xlm, tagged(&xlm.address, 10_000_000, None), false),
            (
                "XLM: the asset is compared as written",
                &xlm_usdc,
                Payment { memo: Some("12345".into()), ..token(USDC_XLM, &xlm.address, 10_000_000) },
                true,
            ),
            (
                "XLM: asset codes are case-sensitive",
                &xlm_usdc,
                Payment {
                    memo: Some("12345".into()),
                    ..token(&USDC_XLM.to_ascii_lowercase(), &xlm.address, 10_000_000)
                },
                false,
            ),
            ("TON: the raw form of the address", &ton, tagged(TON_RAW, 1_500_000_000, Some("order 7")), true),
            ("TON: another comment", &ton, tagged(TON_RAW, 1_500_000_000, Some("order 8")), false),
            (
                "TON: the jetton by its master's raw form",
                &ton_usdt,
                Payment { memo: Some("order 7".into()), ..token(USDT_TON_RAW, TON_RAW, 2_000_000) },
                true,
            ),
            (
                "TON: another jetton",
                &ton_usdt,
                Payment { memo: Some("order 7".into()), ..token(TON_RAW, TON_RAW, 2_000_000) },
                false,
            ),
            ("EOS: the transfer's memo", &eos, tagged(&eos.address, 10_000, Some("memo")), true),
            ("EOS: no memo", &eos, tagged(&eos.address, 10_000, None), false),
            ("EOS: another memo", &eos, tagged(&eos.address, 10_000, Some("memo2")), false),
        ];
        for (case, w, payment, pays) in cases {
            let expected = ExpectedPayment::of(w, &rules(w.network)).unwrap();
            assert_eq!(expected.paid_by(&payment), pays, "{case}");
            let verdict = check(w, std::slice::from_ref(&payment), &rules(w.network));
            assert_eq!(verdict == PayeeVerdict::Verified, pays, "{case}: {verdict:?}");
        }
    }

    #[test]
    fn a_mismatch_says_what_was_expected_and_what_the_transaction_pays() {
        let eth = withdrawal(Network::Eth, "ETH", ETH_CHECKSUMMED, None, "1.5");
        let paid = [native("0xaa", 5), token("0xbb", "0xcc", 6)];
        assert_eq!(
            check(&eth, &paid, &rules(Network::Eth)),
            PayeeVerdict::Mismatch(format!(
                "expected 1500000000000000000 base units (1.5 ETH) to {ETH_CHECKSUMMED}; \
                 the transaction pays: 5 to 0xaa, 6 to 0xcc (token 0xbb)"
            ))
        );
        assert!(
            matches!(check(&eth, &[], &rules(Network::Eth)), PayeeVerdict::Mismatch(m) if m.ends_with("pays: nothing"))
        );
    }

    #[test]
    fn an_amount_finer_than_the_asset_is_a_mismatch_by_itself() {
        let usdt = withdrawal(Network::Eth, "USDT", ETH_CHECKSUMMED, None, "1.0000001");
        assert_eq!(
            check(&usdt, &[], &rules(Network::Eth)),
            PayeeVerdict::Mismatch(
                "the amount 1.0000001 cannot be paid in base units: amount has more than 6 fractional digits".into()
            )
        );
    }
}
