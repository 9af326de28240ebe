//! withdrawal-tracker: tracks crypto withdrawals from request to final
//! confirmation and holds them to a working-day SLA.

pub mod archive;
pub mod auth;
pub mod chain;
pub mod clock;
pub mod config;
pub mod domain;
pub mod eta;
pub mod http;
pub mod json;
pub mod logging;
pub mod metrics;
pub mod networks;
pub mod service;
pub mod startup;
pub mod store;
pub mod tickets;
pub mod tracker;
pub mod view;
pub mod web;
