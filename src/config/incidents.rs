//! `[incidents]`: when many late withdrawals on one network become one
//! incident with one ticket (see `domain/incident.rs`).

use std::time::Duration;

use serde::Deserialize;

use super::{HumanDuration, Problems};
use crate::domain::incident::IncidentRules;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IncidentsConfig {
    /// Open incidents from what the networks show (a halt, a storm of
    /// overdue withdrawals); off: support opens them by hand only.
    pub automatic: bool,
    /// This many withdrawals gone overdue on one network within `window`
    /// open an incident.
    pub min_overdue: u64,
    pub window: HumanDuration,
    /// The incident's ticket hears of newly late withdrawals at most this often.
    pub update_interval: HumanDuration,
    /// An incident closes once its cause has stayed cleared this long (blocks
    /// flowing, fewer than `min_overdue` overdue), so withdrawals that resume
    /// can complete first.
    pub settle_for: HumanDuration,
}

impl Default for IncidentsConfig {
    fn default() -> Self {
        let rules = IncidentRules::default();
        IncidentsConfig {
            automatic: rules.automatic,
            min_overdue: rules.min_overdue,
            window: HumanDuration(rules.window),
            update_interval: HumanDuration(rules.update_interval),
            settle_for: HumanDuration(rules.settle_for),
        }
    }
}

impl IncidentsConfig {
    pub(super) fn settings(&self, problems: &mut Problems) -> IncidentRules {
        if self.min_overdue == 0 {
            problems.add("incidents.min_overdue", "must be at least 1");
        }
        if self.window.0.is_zero() {
            problems.add("incidents.window", "must be greater than zero");
        }
        if self.update_interval.0 < Duration::from_secs(1) {
            problems.add("incidents.update_interval", "must be at least 1s");
        }
        IncidentRules {
            automatic: self.automatic,
            min_overdue: self.min_overdue,
            window: self.window.0,
            update_interval: self.update_interval.0,
            settle_for: self.settle_for.0,
        }
    }
}
