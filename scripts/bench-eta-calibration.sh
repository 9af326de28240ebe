#!/usr/bin/env bash
# Calibration of the arrival estimate (issue 15): simulated Bitcoin chains
# (Poisson blocks at 600 s, congestion, a fee bump, an explorer outage)
# replayed through the real tracker against the fake Esplora on a manual
# clock; prints, per scenario, the share of estimates met by p50 and by p90
# and the median absolute error. Hours of simulated time per scenario:
# first argument (default 24). A debug build: only simulated time matters.
set -euo pipefail
cd "$(dirname "$0")/.."
ETA_CALIBRATION_HOURS="${1:-24}" cargo test --test it eta_calibration -- --nocapture --test-threads 1 2>&1 |
  grep -E '^\|'
