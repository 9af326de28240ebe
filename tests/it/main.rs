//! Integration tests: the real server over HTTP, real Redis servers started
//! by the harness. One binary so the suite links once.

mod support;

mod api_addresses;
mod api_auth;
mod api_withdrawals;
mod chain_aptos;
mod chain_blockbook;
mod chain_blockfrost;
mod chain_cosmos;
mod chain_dot;
mod chain_efficiency;
mod chain_efficiency_cardano_aptos;
mod chain_esplora;
mod chain_evm;
mod chain_horizon;
mod chain_near;
mod chain_solana;
mod chain_sui;
mod chain_toncenter;
mod chain_tron;
mod chain_xrpl;
mod cli;
mod cluster;
mod contract;
mod escalations;
mod eta;
mod eta_calibration;
mod eta_chains;
mod faults;
mod layout_upgrade;
mod logs;
mod network_status;
mod observability;
mod replicas;
mod retention;
mod store_conformance;
mod tls;
mod tracking;
mod tracking_cardano_aptos;
mod tracking_dot_sui;
mod tracking_near_atom;
mod tracking_stellar_ton;
mod web_browser;
mod web_http;
mod wire_times;
