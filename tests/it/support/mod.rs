pub mod app;
pub mod cluster;
pub mod fake_esplora;
pub mod fakes;
pub mod ganache;
pub mod redis;
pub mod tools;
