//! Background jobs that run beside the HTTP server.

pub mod chain;
pub mod incidents;
pub mod retention;
pub mod store_gauges;
pub mod sweeper;
mod watched;
