#!/usr/bin/env bash
# Every packaging check, one after another (they share port 443, dpkg and the
# machine's package state, so never in parallel). A check that exits 77 was
# skipped and said why; any other failure fails the run.
# Usage: tests/packaging/run.sh [BINARY]   (default build/relay/app/turnpike)
set -uo pipefail
cd "$(dirname "$0")/../.."
BINARY=${1:-build/relay/app/turnpike}

checks=(
  "alerts_test.sh $BINARY"
  "kubernetes_test.sh"
  "deb_test.sh"
  "systemd_boot_test.sh"
  "container_test.sh"
)
failed=()
skipped=()
for check in "${checks[@]}"; do
  name=${check%% *}
  [ -x "tests/packaging/$name" ] || { failed+=("$name (missing)"); continue; }
  printf '\n--- %s ---\n' "$name"
  # shellcheck disable=SC2086 # the arguments are split on purpose
  tests/packaging/$check
  code=$?
  case $code in
    0) ;;
    77) skipped+=("$name") ;;
    *) failed+=("$name (exit $code)") ;;
  esac
done
echo
echo "packaging: ${#checks[@]} checks, ${#failed[@]} failed, ${#skipped[@]} skipped${skipped[*]:+: ${skipped[*]}}"
[ ${#failed[@]} -eq 0 ] || { echo "failed: ${failed[*]}"; exit 1; }
