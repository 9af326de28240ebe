pub mod app;
pub mod fakes;
pub mod redis;
pub mod tools;
