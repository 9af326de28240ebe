//! Background jobs that run beside the HTTP server.

pub mod sweeper;
