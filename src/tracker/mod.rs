//! Background jobs that run beside the HTTP server.

pub mod store_gauges;
pub mod sweeper;
