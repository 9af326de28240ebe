//! Prometheus metrics. Each application owns its registry (tests run several
//! in one process). Store-wide gauges (counts by state and SLA status) are
//! exported by one replica at a time, the holder of a lease, so a sum over
//! replicas never double counts.

use std::sync::Mutex;

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

const NAMESPACE: &str = "withdrawal_tracker";

pub struct Metrics {
    registry: Registry,
    pub withdrawals: IntGaugeVec,
    pub sla: IntGaugeVec,
    pub sla_breaches: IntCounterVec,
    pub eta_outcomes: IntCounterVec,
    pub completion_working_days: HistogramVec,
    pub escalations: IntCounterVec,
    pub deliveries_pending: IntGauge,
    pub deliveries_dead: IntGauge,
    pub explorer_requests: IntCounterVec,
    pub explorer_request_duration: HistogramVec,
    pub chain_tip_height: IntGaugeVec,
    /// 1 for each network's current status, 0 for the others.
    pub network_status: IntGaugeVec,
    /// 1 while the network has an open incident.
    pub incidents_open: IntGaugeVec,
    pub incidents_opened: IntCounterVec,
    pub incidents_closed: IntCounterVec,
    /// Late withdrawals taken into an incident instead of a ticket of their own.
    pub withdrawals_grouped: IntCounterVec,
    pub incident_events: IntCounterVec,
    pub poll_lag_seconds: prometheus::GaugeVec,
    pub address_validations: IntCounterVec,
    pub http_requests: IntCounterVec,
    pub http_request_duration: HistogramVec,
    pub store_up: IntGauge,
    /// 1 on the replica that exports the store-wide gauges.
    pub store_gauges_exporter: IntGauge,
    pub sweep_duration: Histogram,
    pub retention_expired: IntCounterVec,
    pub retention_archived: IntCounterVec,
}

fn opts(name: &str, help: &str) -> Opts {
    Opts::new(name, help).namespace(NAMESPACE)
}

fn histogram(name: &str, help: &str, buckets: Vec<f64>) -> HistogramOpts {
    HistogramOpts::new(name, help).namespace(NAMESPACE).buckets(buckets)
}

impl Metrics {
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let gauge_vec = |name: &str, help: &str, labels: &[&str]| {
            let metric = IntGaugeVec::new(opts(name, help), labels).expect("valid metric");
            registry.register(Box::new(metric.clone())).expect("registered once");
            metric
        };
        let counter_vec = |name: &str, help: &str, labels: &[&str]| {
            let metric = IntCounterVec::new(opts(name, help), labels).expect("valid metric");
            registry.register(Box::new(metric.clone())).expect("registered once");
            metric
        };
        let histogram_vec = |name: &str, help: &str, buckets: Vec<f64>, labels: &[&str]| {
            let metric = HistogramVec::new(histogram(name, help, buckets), labels).expect("valid metric");
            registry.register(Box::new(metric.clone())).expect("registered once");
            metric
        };
        let gauge = |name: &str, help: &str| {
            let metric = IntGauge::with_opts(opts(name, help)).expect("valid metric");
            registry.register(Box::new(metric.clone())).expect("registered once");
            metric
        };
        let latency_buckets = vec![0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
        let metrics = Metrics {
            withdrawals: gauge_vec(
                "withdrawals",
                "Withdrawals by network and state (store-wide).",
                &["network", "state"],
            ),
            sla: gauge_vec(
                "sla",
                "Withdrawals in flight by network and SLA status (store-wide).",
                &["network", "status"],
            ),
            sla_breaches: counter_vec(
                "sla_breaches_total",
                "Withdrawals completed after their overdue deadline.",
                &["network"],
            ),
            eta_outcomes: counter_vec(
                "eta_outcomes_total",
                "Arrival estimates judged at completion: done by the estimate's p50, by its p90, or late; \
                 by the basis the estimate was given on (counted by the writer that completed the withdrawal).",
                &["network", "basis", "outcome"],
            ),
            completion_working_days: histogram_vec(
                "completion_working_days",
                "Working days from request to completion.",
                vec![0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0],
                &["network"],
            ),
            escalations: counter_vec(
                "escalations_total",
                "Ticket deliveries attempted, by sink, event and outcome.",
                &["sink", "event", "outcome"],
            ),
            deliveries_pending: gauge("ticket_deliveries_pending", "Ticket deliveries waiting to go out (store-wide)."),
            deliveries_dead: gauge("ticket_deliveries_dead", "Tickets whose delivery gave up (store-wide)."),
            explorer_requests: counter_vec(
                "explorer_requests_total",
                "Requests to chain explorers and nodes.",
                &["network", "explorer", "outcome"],
            ),
            explorer_request_duration: histogram_vec(
                "explorer_request_duration_seconds",
                "Explorer request latency.",
                latency_buckets.clone(),
                &["network", "explorer"],
            ),
            chain_tip_height: gauge_vec("chain_tip_height", "Last chain tip height seen.", &["network"]),
            network_status: gauge_vec(
                "network_status",
                "1 for the network's current status (operational, degraded, congested, halted, maintenance).",
                &["network", "status"],
            ),
            incidents_open: gauge_vec(
                "incidents_open",
                "1 while the network has an open incident, else 0.",
                &["network"],
            ),
            incidents_opened: counter_vec(
                "incidents_opened_total",
                "Incidents opened, by network and cause (halted, overdue, declared).",
                &["network", "cause"],
            ),
            incidents_closed: counter_vec(
                "incidents_closed_total",
                "Incidents closed, by network and cause.",
                &["network", "cause"],
            ),
            withdrawals_grouped: counter_vec(
                "withdrawals_grouped_total",
                "Late withdrawals taken into an incident's one ticket instead of their own.",
                &["network"],
            ),
            incident_events: counter_vec(
                "incident_events_total",
                "Incident ticket deliveries attempted, by sink, event (opened, updated, closed) and result.",
                &["sink", "event", "result"],
            ),
            poll_lag_seconds: {
                let metric = prometheus::GaugeVec::new(
                    opts("poll_lag_seconds", "Seconds since the last successful tip poll."),
                    &["network"],
                )
                .expect("valid metric");
                registry.register(Box::new(metric.clone())).expect("registered once");
                metric
            },
            address_validations: counter_vec(
                "address_validations_total",
                "Address validations by network and result (valid or the error code).",
                &["network", "result"],
            ),
            http_requests: counter_vec(
                "http_requests_total",
                "HTTP requests by method, route pattern and status.",
                &["method", "route", "status"],
            ),
            http_request_duration: histogram_vec(
                "http_request_duration_seconds",
                "HTTP request latency by method and route pattern.",
                latency_buckets,
                &["method", "route"],
            ),
            store_up: gauge("store_up", "1 when the store answered the last check."),
            store_gauges_exporter: gauge(
                "store_gauges_exporter",
                "1 on the replica currently exporting the store-wide gauges.",
            ),
            sweep_duration: {
                let metric = Histogram::with_opts(histogram(
                    "sweep_duration_seconds",
                    "Duration of one SLA sweep.",
                    vec![0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0],
                ))
                .expect("valid metric");
                registry.register(Box::new(metric.clone())).expect("registered once");
                metric
            },
            retention_expired: counter_vec(
                "retention_expired_total",
                "Terminal withdrawals deleted by retention, by the state they ended in.",
                &["state"],
            ),
            retention_archived: counter_vec(
                "retention_archive_writes_total",
                "Records written to the retention archive before deletion, by archive and outcome (ok, failed).",
                &["archive", "outcome"],
            ),
            registry,
        };
        let dropped = ReadAtScrape {
            counter: IntCounter::with_opts(opts(
                "log_lines_dropped_total",
                "Log lines dropped: the log writer's queue was full (log_buffer_lines) or stderr refused them.",
            ))
            .expect("valid metric"),
            read: crate::logging::dropped_lines,
            syncing: Mutex::new(()),
        };
        metrics.registry.register(Box::new(dropped)).expect("registered once");
        #[cfg(target_os = "linux")]
        {
            let process = prometheus::process_collector::ProcessCollector::for_self();
            let _ = metrics.registry.register(Box::new(process));
        }
        metrics
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut buffer).expect("text encoding cannot fail");
        String::from_utf8(buffer).expect("the text format is UTF-8")
    }
}

/// A counter kept elsewhere (the process's log writer counts its dropped
/// lines), brought up to date when scraped.
struct ReadAtScrape {
    counter: IntCounter,
    read: fn() -> u64,
    /// Two scrapes at once must not both add the same difference.
    syncing: Mutex<()>,
}

impl Collector for ReadAtScrape {
    fn desc(&self) -> Vec<&Desc> {
        self.counter.desc()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let _syncing = self.syncing.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let (now, exported) = ((self.read)(), self.counter.get());
        if now > exported {
            self.counter.inc_by(now - exported);
        }
        self.counter.collect()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}
