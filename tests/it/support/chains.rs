//! What tests that follow a chain share: valid destinations per network.

use withdrawal_tracker::domain::address::ValidatedAddress;
use withdrawal_tracker::domain::Network;

/// A destination the validator accepts on `network`, for tests that build a
/// `Registration` without HTTP.
pub fn destination(network: Network) -> ValidatedAddress {
    let address = match network {
        Network::Btc => "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
        Network::Eth => "0x1111111111111111111111111111111111111111",
        Network::Trx => "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
        Network::Sol => "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA",
        other => panic!("no test destination for {other}"),
    };
    ValidatedAddress::parse(network, address, None).expect("a valid test destination")
}
