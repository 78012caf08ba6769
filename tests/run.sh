#!/usr/bin/env bash
# Builds and runs every check Turnpike has: formatting, clang-tidy, the unit and
# integration tests (release build, then again under ASan+UBSan), and each
# libFuzzer target for a bounded time. Run packaging/install-deps.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."

JOBS=${JOBS:-2}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
export CCACHE_DIR=${CCACHE_DIR:-$PWD/.cache/ccache}
step() { printf '\n=== %s ===\n' "$*"; }

step "clang-format"
git ls-files '*.cc' '*.h' | xargs clang-format --dry-run --Werror
echo "formatting ok"

step "layering"
tests/check_layers.sh

# The release build is what a packager runs: Release, warnings not errors
# (a compiler's false positive at -O3 must not stop a package). The
# sanitizer and fuzz builds below keep -Werror for the project's own CI.
step "release build"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DTURNPIKE_WERROR=OFF >/dev/null
cmake --build build -j"$JOBS"

step "clang-tidy"
run-clang-tidy-14 -p build -j"$JOBS" -quiet 'relay/|conf/|auth/|control/' >build/clang-tidy.log 2>&1 || {
  sed 's/\x1b\[[0-9;]*m//g' build/clang-tidy.log | grep -E '(warning|error):' | sort -u
  echo "clang-tidy found problems"
  exit 1
}
echo "clang-tidy ok"

step "unit and integration tests (release)"
(cd build && ctest -j"$JOBS" --output-on-failure) | tee build/ctest.log

step "packaging: alerts, Kubernetes, the .deb and its unit, the container"
tests/packaging/run.sh build/relay/app/turnpike

step "benchmarks run"
build/benchmarks/turnpike_codec_bench --benchmark_min_time=0.05

step "sanitizer build (ASan + UBSan)"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTURNPIKE_SANITIZE=ON \
  -DTURNPIKE_WERROR=ON >/dev/null
cmake --build build-asan -j"$JOBS"

step "fuzz build (clang libFuzzer + ASan + UBSan)"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DTURNPIKE_FUZZ=ON -DTURNPIKE_WERROR=ON >/dev/null
cmake --build build-fuzz -j"$JOBS"

for target in message channel_data stream_framer config control_http jwt api_session call_api \
  push_answer cluster_message; do
  step "fuzz_${target} for ${FUZZ_SECONDS}s"
  work=$(mktemp -d)
  # The committed corpus seeds the run; new inputs go to a scratch directory.
  build-fuzz/tests/fuzz/fuzz_${target} -max_total_time="$FUZZ_SECONDS" -max_len=4096 \
    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="build-fuzz/" \
    "$work" "tests/fuzz/corpus/${target}" 2>&1 | grep -E 'stat::number_of_executed_units|Done|ERROR|SUMMARY' || true
  rm -rf "$work"
  # Any one kind of artifact is a finding (ls of all three failed unless all existed).
  found=$(find build-fuzz -maxdepth 1 \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \))
  if [ -n "$found" ]; then
    echo "fuzz_${target} found a problem:"; echo "$found"
    exit 1
  fi
done

step "unit and integration tests (ASan + UBSan)"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest -j"$JOBS" --output-on-failure) | tee build-asan/ctest.log

# One closing line for both ctest runs.
total() { grep -Eo 'tests failed out of [0-9]+' "$1" | grep -Eo '[0-9]+$'; }
failed() { grep -Eo '[0-9]+ tests failed' "$1" | grep -Eo '^[0-9]+'; }
runs=$(($(total build/ctest.log) + $(total build-asan/ctest.log)))
bad=$(($(failed build/ctest.log) + $(failed build-asan/ctest.log)))
echo
echo "tests: $((runs - bad)) passed, ${bad} failed"
[ "$bad" -eq 0 ]
