//! What several endpoints parse the same way: network codes, list cursors and
//! page sizes, each refused with a 422 naming its field.

use super::error::{ApiError, Code};
use crate::domain::Network;
use crate::store::Cursor;

pub const DEFAULT_PAGE_SIZE: usize = 50;
pub const MAX_PAGE_SIZE: usize = 500;

pub fn parse_network(raw: &str) -> Result<Network, ApiError> {
    Network::parse(raw).ok_or_else(|| {
        ApiError::new(Code::UnknownNetwork, format!("unknown network {raw:?}; see GET /v1/networks for the codes"))
            .with_field("network")
    })
}

pub fn parse_cursor(raw: Option<&str>) -> Result<Option<Cursor>, ApiError> {
    raw.map(|raw| {
        Cursor::decode(raw).ok_or_else(|| ApiError::invalid_field("cursor", "cursor is not one this service issued"))
    })
    .transpose()
}

pub fn parse_limit(raw: Option<&str>) -> Result<usize, ApiError> {
    match raw {
        None => Ok(DEFAULT_PAGE_SIZE),
        Some(raw) => raw.parse::<usize>().ok().filter(|n| (1..=MAX_PAGE_SIZE).contains(n)).ok_or_else(|| {
            ApiError::invalid_field("limit", format!("limit must be an integer from 1 to {MAX_PAGE_SIZE}"))
        }),
    }
}
