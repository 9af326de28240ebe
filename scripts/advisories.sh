#!/usr/bin/env bash
# `cargo deny check advisories` against the RustSec database, offline.
#
# CI cannot reach GitHub, so the database comes from the snapshot beside the
# project (../shared/advisory-db.bundle, a git bundle of
# github.com/rustsec/advisory-db). It is cloned where cargo-deny looks for the
# default database (<CARGO_HOME>/advisory-dbs/advisory-db-<hash of its URL>),
# replacing an older copy, and the check runs with --offline so nothing is
# fetched. Any vulnerability fails the run; an advisory that truly cannot be
# fixed yet is ignored in deny.toml with its reason.
#
# Where GitHub is reachable, `cargo deny check advisories` (without --offline)
# fetches the current database into the same folder instead; to refresh the
# bundle itself: git clone --depth 1 https://github.com/rustsec/advisory-db &&
# git -C advisory-db bundle create advisory-db.bundle HEAD.
#
# Usage: scripts/advisories.sh [path to the bundle]
set -euo pipefail
cd "$(dirname "$0")/.."
bundle=${1:-../shared/advisory-db.bundle}
[ -f "$bundle" ] || { echo "no advisory database bundle at $bundle" >&2; exit 2; }

# cargo-deny names the folder after a hash of the default URL
# (https://github.com/rustsec/advisory-db); see ../shared/README.md.
db=${CARGO_HOME:-$HOME/.cargo}/advisory-dbs/advisory-db-3157b0e258782691
wanted=$(git bundle list-heads "$bundle" | awk 'NR==1{print $1}')
if [ "$(git -C "$db" rev-parse HEAD 2>/dev/null)" != "$wanted" ]; then
  rm -rf "$db"
  mkdir -p "$(dirname "$db")"
  git -c init.defaultBranch=main clone -q "$bundle" "$db"
fi
echo "advisory database: $(git -C "$db" log -1 --format='%H, %cs')"
cargo deny --offline check advisories
