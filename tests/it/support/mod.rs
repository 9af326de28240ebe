pub mod app;
pub mod redis;
