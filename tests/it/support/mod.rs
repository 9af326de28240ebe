pub mod app;
pub mod fake_esplora;
pub mod fake_solana;
pub mod fake_xrpl;
pub mod fakes;
pub mod ganache;
pub mod redis;
pub mod tools;
