#!/usr/bin/env bash
# Checks deploy/ with tools that run without a cluster or a Docker engine:
# promtool (rules and their unit tests), kubernetes-validate (manifests),
# docker-compose config (the compose file), and the dashboard's queries
# against the metric families the service exports.
set -euo pipefail
cd "$(dirname "$0")"
promtool check rules prometheus/alerts.yml
promtool test rules prometheus/alerts_test.yml
promtool check config prometheus/prometheus.yml >/dev/null 2>&1 || {
  # rule_files paths are container paths; check the scrape config with the rules beside it.
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  sed "s#/etc/prometheus/alerts.yml#$(pwd)/prometheus/alerts.yml#" prometheus/prometheus.yml > "$tmp/prometheus.yml"
  promtool check config "$tmp/prometheus.yml"
}
kubernetes-validate --strict --quiet kubernetes/configmap.yaml kubernetes/deployment.yaml \
  kubernetes/service.yaml kubernetes/pdb.yaml kubernetes/secret.example.yaml
docker-compose -f docker-compose.yml config -q
python3 - <<'PY'
import json, re, sys, yaml
families = {
    "withdrawal_tracker_withdrawals", "withdrawal_tracker_sla", "withdrawal_tracker_sla_breaches_total",
    "withdrawal_tracker_completion_working_days", "withdrawal_tracker_escalations_total",
    "withdrawal_tracker_ticket_deliveries_pending", "withdrawal_tracker_ticket_deliveries_dead",
    "withdrawal_tracker_explorer_requests_total", "withdrawal_tracker_explorer_request_duration_seconds",
    "withdrawal_tracker_chain_tip_height", "withdrawal_tracker_poll_lag_seconds",
    "withdrawal_tracker_address_validations_total", "withdrawal_tracker_http_requests_total",
    "withdrawal_tracker_http_request_duration_seconds", "withdrawal_tracker_store_up",
    "withdrawal_tracker_log_lines_dropped_total", "withdrawal_tracker_network_status",
    "withdrawal_tracker_eta_outcomes_total", "withdrawal_tracker_incidents_open",
    "withdrawal_tracker_incidents_opened_total", "withdrawal_tracker_incidents_closed_total",
    "withdrawal_tracker_withdrawals_grouped_total", "withdrawal_tracker_incident_events_total", "up",
}
dashboard = json.load(open("grafana/dashboards/withdrawal-tracker.json"))
for panel in dashboard["panels"]:
    for target in panel["targets"]:
        for name in re.findall(r"\b(withdrawal_tracker_[a-z_]+|up)\b", target["expr"]):
            base = re.sub(r"_(bucket|count|sum)$", "", name)
            if base not in families:
                sys.exit(f"dashboard panel {panel['title']!r} queries unknown metric {name}")
monitor = yaml.safe_load(open("kubernetes/servicemonitor.yaml"))
service = yaml.safe_load(open("kubernetes/service.yaml"))
ports = {p["name"] for p in service["spec"]["ports"]}
assert monitor["kind"] == "ServiceMonitor" and monitor["apiVersion"] == "monitoring.coreos.com/v1"
for endpoint in monitor["spec"]["endpoints"]:
    assert endpoint["port"] in ports, f"ServiceMonitor port {endpoint['port']} is not a Service port"
assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
print("deploy/: dashboard queries and ServiceMonitor match the service")
PY
echo "deploy/ checks passed"
