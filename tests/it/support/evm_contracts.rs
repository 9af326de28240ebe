//! Contracts the EVM tests deploy on ganache, written as raw bytecode: a
//! reverter and an ERC-20 look-alike that only logs `Transfer`.

use withdrawal_tracker::chain::evm::TRANSFER_TOPIC;

/// Init code that deploys the runtime after it (12 bytes of init):
/// PUSH1 len (60 ll), PUSH1 12 (60 0c) = where the runtime starts in this code,
/// PUSH1 0 (60 00) = memory destination, CODECOPY (39),
/// PUSH1 len (60 ll), PUSH1 0 (60 00), RETURN (f3): the runtime becomes the code.
pub fn init_code(runtime: &str) -> String {
    let len = runtime.len() / 2;
    assert!(len < 256);
    format!("0x60{len:02x}600c600039 60{len:02x}6000f3{runtime}").replace(' ', "")
}

/// Runtime that always reverts: PUSH1 0 (60 00), PUSH1 0 (60 00), REVERT (fd).
pub const REVERTER: &str = "60006000fd";

/// Runtime that logs an ERC-20 `Transfer(caller, to, amount)` for any call
/// with `transfer(address to, uint256 amount)` calldata, and stops:
pub fn token_runtime() -> String {
    [
        "6024",               // PUSH1 0x24: calldata offset of `amount` (selector 4 + word 32)
        "35",                 // CALLDATALOAD: amount
        "6000",               // PUSH1 0
        "52",                 // MSTORE: memory[0..32] = amount (the log data)
        "6004",               // PUSH1 0x04: calldata offset of `to`
        "35",                 // CALLDATALOAD: topic2 = to (left-padded word)
        "33",                 // CALLER: topic1 = from
        "7f",                 // PUSH32 ...: topic0 = keccak("Transfer(address,address,uint256)")
        &TRANSFER_TOPIC[2..], //   (the 32 bytes)
        "6020",               // PUSH1 0x20: log data size
        "6000",               // PUSH1 0: log data offset
        "a3",                 // LOG3(offset, size, topic0, topic1, topic2)
        "00",                 // STOP
    ]
    .concat()
}

/// `transfer(address,uint256)` calldata.
pub fn transfer_call(to: &str, amount: u128) -> String {
    format!("0xa9059cbb{:0>64}{amount:064x}", &to[2..])
}
