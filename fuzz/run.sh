#!/usr/bin/env bash
# Builds the fuzz targets and runs each for a bounded time.
#
#   fuzz/run.sh [SECONDS_PER_TARGET]      (default 30)
#
# Seeds come from fuzz/seeds/<target>/ and fuzz/regressions/<target>/ (read
# only). The growing working corpus, logs and crash files live under
# $PLANASONIX_FUZZ_WORK (default /var/tmp/planasonix-fuzz), never in the repo.
# Exits non-zero, printing each crash file, if any target crashes, times out
# or runs out of memory. See fuzz/README.md.
#
# Needs the stable toolchain only: cargo-fuzz's nightly flags (-Zsanitizer,
# sanitizer coverage) are allowed with RUSTC_BOOTSTRAP=1. Runs scripts/setup.sh
# first, which installs cargo-fuzz and the Debian packages the build needs when
# they are missing (as root, or through sudo).
#
# Environment:
#   PLANASONIX_FUZZ_TARGET_DIR  cargo target dir (default /var/tmp/planasonix-fuzz-target)
#   PLANASONIX_FUZZ_WORK        corpus, logs, crashes (default /var/tmp/planasonix-fuzz)
#   CARGO_BUILD_JOBS            build parallelism (default 1)
#   FUZZ_NICE                   niceness of the build and the runs (default 10)
#   FUZZ_ARGS                   extra libFuzzer flags for every target, appended
#                               (a later flag wins), e.g. "-dict=... -jobs=2"
set -euo pipefail

SECONDS_PER_TARGET="${1:-30}"
if ! [[ "$SECONDS_PER_TARGET" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: $0 [SECONDS_PER_TARGET]   (a positive whole number, default 30)" >&2
  exit 2
fi

FUZZ_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TARGET_DIR="${PLANASONIX_FUZZ_TARGET_DIR:-/var/tmp/planasonix-fuzz-target}"
WORK="${PLANASONIX_FUZZ_WORK:-/var/tmp/planasonix-fuzz}"
NICE="${FUZZ_NICE:-10}"
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"
export CARGO_TARGET_DIR="$TARGET_DIR"
# cargo-fuzz passes nightly-only flags; this lets the stable compiler take them.
export RUSTC_BOOTSTRAP=1

# Target and its -max_len: long enough for every real input of that parser.
TARGETS=(
  "policy_parse:4096"       # a policy file (the documented default is ~3 KiB)
  "code_input:16384"        # far beyond the 64-byte prompt limit, to test it
  "record_decode:16384"     # a stored user record (a full one is ~1-2 KiB)
  "pam_conversation:4096"   # prompt selector byte + the conversation answer
  "service_frame:8192"      # state-service frames (a record CAS is ~1-2 KiB)
  "webauthn_parse:16384"    # selector byte + authenticator data, attestation object or client data
)

say() { printf '[fuzz] %s\n' "$*"; }


# --- prerequisites ---------------------------------------------------------
# The project's setup: compilers, clang (pam-sys bindgen), libpam headers and
# cargo-fuzz, each skipped when present.
"$FUZZ_DIR/../scripts/setup.sh"

# --- build -----------------------------------------------------------------
START=$(date +%s)
say "building ${#TARGETS[@]} targets (ASan, release + debug assertions) in $TARGET_DIR"
(
  cd "$FUZZ_DIR"
  nice -n "$NICE" cargo fuzz build --release --debug-assertions --target-dir "$TARGET_DIR"
)
BUILT=$(date +%s)
say "build took $((BUILT - START)) s"

BIN_DIR="$TARGET_DIR/x86_64-unknown-linux-gnu/release"
RUN_DIR="$WORK/runs/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$RUN_DIR"

# --- run -------------------------------------------------------------------
failed=0
summary=()
for entry in "${TARGETS[@]}"; do
  target="${entry%%:*}"
  max_len="${entry##*:}"
  corpus="$WORK/corpus/$target"
  artifacts="$RUN_DIR/artifacts/$target"
  log="$RUN_DIR/$target.log"
  mkdir -p "$corpus" "$artifacts"
  # New inputs go to the first directory only; the committed ones are read.
  dirs=("$corpus" "$FUZZ_DIR/seeds/$target")
  if [ -d "$FUZZ_DIR/regressions/$target" ]; then
    dirs+=("$FUZZ_DIR/regressions/$target")
  fi
  say "running $target for ${SECONDS_PER_TARGET}s (max_len $max_len), log $log"
  rc=0
  nice -n "$NICE" "$BIN_DIR/$target" \
    -max_total_time="$SECONDS_PER_TARGET" \
    -rss_limit_mb=2048 \
    -max_len="$max_len" \
    -timeout=10 \
    -print_final_stats=1 \
    -artifact_prefix="$artifacts/" \
    ${FUZZ_ARGS:-} \
    "${dirs[@]}" >"$log" 2>&1 || rc=$?

  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9]*[a-zA-Z]*\).*/\1/p' <<<"$last")
  crashes=$(find "$artifacts" -type f | sort)
  if [ "$rc" -ne 0 ] || [ -n "$crashes" ]; then
    failed=1
    result="FAILED (exit $rc)"
    say "$target FAILED (exit $rc); last lines of $log:"
    tail -n 30 "$log" | sed 's/^/    /'
    while IFS= read -r f; do
      [ -n "$f" ] && say "crash file: $f"
    done <<<"$crashes"
  else
    result="ok"
  fi
  summary+=("$(printf '%-18s %12s %10s %8s %8s %14s  %s' "$target" "${execs:-?}" "${speed:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$result")")
done
END=$(date +%s)

echo
printf '%-18s %12s %10s %8s %8s %14s  %s\n' target execs exec/s cov ft corpus result
for line in "${summary[@]}"; do echo "$line"; done
echo
say "build $((BUILT - START)) s, fuzzing $((END - BUILT)) s, total $((END - START)) s; logs in $RUN_DIR"
if [ "$failed" -ne 0 ]; then
  say "at least one target failed: copy each crash file into fuzz/regressions/<target>/ (see fuzz/README.md)" >&2
  exit 1
fi
