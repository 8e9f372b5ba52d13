#!/usr/bin/env bash
# The Linux-login door of the demo: the planasonix CLI sets up a host in a
# temporary directory and enrolls a user; then real libpam (pamtester under
# pam_wrapper, so /etc/pam.d is untouched) loads pam_planasonix.so and checks
# codes computed by oathtool. The module and the CLI resolve user names
# through NSS; alice exists only in a private passwd file (nss_wrapper), so
# /etc/passwd is untouched too. Exits non-zero if any step misbehaves.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --locked --quiet -p planasonix -p pam_planasonix
target="${CARGO_TARGET_DIR:-$PWD/target}"
cli="$target/debug/planasonix"
module="$target/debug/libpam_planasonix.so"
dir="$(mktemp -d /tmp/planasonix-login-demo.XXXXXX)"
svc=""
trap '[ -n "$svc" ] && kill "$svc" 2>/dev/null; rm -rf "$dir"' EXIT
p=(--config "$dir/policy.toml" --db "$dir/db" --key "$dir/seal.key")
# alice, for NSS: only in these files, seen by processes with nss_wrapper.
printf 'root:x:0:0:root:/root:/bin/sh\nalice:x:4242:4242:Alice (demo):/nonexistent:/usr/sbin/nologin\n' > "$dir/passwd"
printf 'root:x:0:\nalice:x:4242:\n' > "$dir/group"
export NSS_WRAPPER_PASSWD="$dir/passwd" NSS_WRAPPER_GROUP="$dir/group"
planasonix() { LD_PRELOAD=libnss_wrapper.so "$cli" "$@"; }

say() { printf '\n== %s\n' "$*"; }
expect_outcome() { # expect_outcome WANT(ok|fail) INPUT
  local want="$1" input="$2" out rc=0
  out="$(printf '%s\n' "$input" | LD_PRELOAD="libpam_wrapper.so libnss_wrapper.so" PAM_WRAPPER=1 \
    PAM_WRAPPER_SERVICE_DIR="$dir/pam.d" pamtester -I rhost=192.0.2.10 demo alice authenticate 2>&1)" || rc=$?
  printf '%s\n' "$out" | sed 's/^/   /'
  if { [ "$want" = ok ] && [ $rc -ne 0 ]; } || { [ "$want" = fail ] && [ $rc -eq 0 ]; }; then
    echo "demo expectation failed: wanted $want" >&2
    exit 1
  fi
}

say "planasonix init (key 0600, database 0700, default policy)"
planasonix "${p[@]}" init
sed -i 's/^mode = "optional"/mode = "required-for-all"/' "$dir/policy.toml"
planasonix "${p[@]}" policy check >/dev/null && echo "   policy: required-for-all"

say "an admin provisions alice's authenticator app with the CLI"
secret="$(head -c 20 /dev/urandom | base32 | tr -d '=')"
# On standard input, never on the command line (other users read that in /proc).
provision="$(printf '%s\n' "$secret" | planasonix "${p[@]}" --json admin provision-totp alice --secret -)"
recovery="$(printf '%s' "$provision" | python3 -c 'import json,sys; print(json.load(sys.stdin)["recovery_codes"][0])')"
planasonix "${p[@]}" status --user alice | sed 's/^/   /'

mkdir -p "$dir/pam.d"
echo "auth required pam_deny.so" > "$dir/pam.d/other"
echo "auth required $module config=$dir/policy.toml db=$dir/db key=$dir/seal.key" > "$dir/pam.d/demo"

say "the state service starts, as planasonix.service runs it: logins now reach the database over $dir/db.sock"
"$cli" --db "$dir/db" serve > "$dir/serve.out" 2>&1 &
svc=$!
for _ in $(seq 100); do [ -S "$dir/db.sock" ] && break; sleep 0.05; done
[ -S "$dir/db.sock" ] || { cat "$dir/serve.out"; echo "planasonix serve did not start" >&2; exit 1; }
sed 's/^/   /' "$dir/serve.out"

say "alice logs in through libpam with the code from her app (oathtool)"
code="$(oathtool --totp -b "$secret")"
expect_outcome ok "$code"
say "someone replays that code"
expect_outcome fail "$code"
say "alice uses a recovery code; then someone tries it again"
expect_outcome ok "$recovery"
expect_outcome fail "$recovery"

say "an admin resets alice (lost phone), through the service"
planasonix "${p[@]}" admin reset alice --reason "lost phone, identity checked"
say "the service stops (or crashes); logins open the database themselves, alice is in her enrollment grace period"
kill "$svc"; wait "$svc" 2>/dev/null || true; svc=""
expect_outcome ok ""
planasonix "${p[@]}" audit --user alice | tail -n 8 | sed 's/^/   /'
echo
echo "Login demo complete: the CLI and real libpam behaved as designed."
