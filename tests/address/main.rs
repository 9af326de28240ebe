//! Address validation against public test vectors and round-trip properties, one module per family.

mod algorand;
mod bitcoin;
mod cardano;
mod cashaddr;
mod common;
mod cosmos;
mod detect;
mod eos;
mod evm;
mod filecoin;
mod fuzz;
mod hedera;
mod move_chains;
mod near;
mod network;
mod polkadot;
mod solana;
mod stellar;
mod tezos;
mod ton;
mod tron;
mod xrp;
