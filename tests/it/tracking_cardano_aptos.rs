//! The chain tracker end to end on Cardano (a fake Blockfrost) and Aptos (a
//! fake fullnode): broadcast → confirming → completed, failed, dropped,
//! payee_mismatch; a Cardano reorg.
