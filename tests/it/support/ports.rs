//! Ports for the servers the tests start (redis-server, cluster nodes and
//! their buses, Prometheus, a service's own listener).
//!
//! They are handed out below the kernel's ephemeral range. A port found by
//! binding to port 0 lies inside that range and is free only for a moment:
//! before the server it was meant for binds it, any outgoing connection of the
//! suite (and there are thousands) may be given it as its local port, and a
//! server killed for a fault test may find its port taken when it restarts.
//! That is how a CI run once lost a cluster node ("did not start"). Below the
//! range no outgoing connection is ever given the port, and the counter keeps
//! two calls of one test process from getting the same one.

use std::net::TcpListener;
use std::sync::atomic::{AtomicU32, Ordering};

/// Used when the kernel's range cannot be read (not Linux).
const FALLBACK_EPHEMERAL_START: u32 = 32768;
/// The bottom of the ports handed out: above the well-known and most
/// registered service ports.
const LOWEST: u32 = 10_000;

pub fn free_port() -> u16 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let ephemeral_start = ephemeral_range_start();
    if ephemeral_start <= LOWEST + 1000 {
        return kernel_chosen_port();
    }
    let span = ephemeral_start - LOWEST;
    // Processes start at different points, so two suites running side by side
    // rarely try the same ports; a port someone already listens on is skipped.
    let start = std::process::id().wrapping_mul(7919) % span;
    for _ in 0..span {
        let offset = (start + NEXT.fetch_add(1, Ordering::Relaxed)) % span;
        let port = (LOWEST + offset) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port between {LOWEST} and {ephemeral_start}")
}

fn ephemeral_range_start() -> u32 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse().ok())
        .unwrap_or(FALLBACK_EPHEMERAL_START)
}

fn kernel_chosen_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn ports_handed_out_are_distinct_and_below_the_ephemeral_range() {
    let ports: Vec<u16> = (0..200).map(|_| free_port()).collect();
    let mut distinct = ports.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), ports.len(), "a port was handed out twice: {ports:?}");
    let ephemeral_start = ephemeral_range_start();
    if ephemeral_start > LOWEST + 1000 {
        assert!(ports.iter().all(|&p| u32::from(p) < ephemeral_start && u32::from(p) >= LOWEST), "{ports:?}");
    }
}
