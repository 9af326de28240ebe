pub mod app;
pub mod cluster;
pub mod fakes;
pub mod redis;
pub mod tools;
