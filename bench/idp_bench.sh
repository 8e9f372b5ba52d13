#!/usr/bin/env bash
# The reference provider's sign-in benchmark (bench/idp_bench.mjs) on a
# private, durable PostgreSQL: sets up the store, the policy (MFA required
# for admins; passkeys on), N admins with an app, N with a passkey and N
# users the policy does not cover,
# and the provider's configuration; writes the figures to OUT.json.
#   bench/idp_bench.sh TARGET_DIR OUT.json [N]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
target="$1" out="$2" n="${3:-100}"
work="$(mktemp -d /var/tmp/planasonix-idp-bench.XXXXXX)"
chmod 700 "$work"
cleanup() { exec 3>&- 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

mkfifo "$work/pg.in"
"$target/release/examples/postgres_server" "$work/store.toml" < "$work/pg.in" > "$work/pg.out" &
exec 3> "$work/pg.in"
for _ in $(seq 300); do grep -q ready "$work/pg.out" 2>/dev/null && break; sleep 0.1; done
grep -q ready "$work/pg.out"

cli=("$target/release/planasonix" --store "$work/store.toml" --db "$work/db" --key "$work/seal.key" --config "$work/policy.toml")
"${cli[@]}" init >/dev/null
"${cli[@]}" store migrate >/dev/null
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
# Passkeys for the origin the benchmark's authenticator reports (the
# provider listens on 127.0.0.1; an RP ID is a domain).
printf '[enforcement]\nmode = "required-for-admins"\nadmin_groups = ["admins"]\n[passkeys]\nenabled = true\nrp_id = "localhost"\norigins = ["http://localhost:%s"]\n' "$port" > "$work/policy.toml"

password="bench-password-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
printf '%s\n' "$password" > "$work/password"
hash="$(printf '%s\n' "$password" | node "$root/idp/src/main.mjs" hash-password)"
{
  for i in $(seq 0 $((n + 9))); do
    printf '[[user]]\nname = "plain%d"\ngroups = ["staff"]\npassword = "%s"\n\n' "$i" "$hash"
    printf '[[user]]\nname = "mfa%d"\ngroups = ["admins"]\npassword = "%s"\n\n' "$i" "$hash"
    printf '[[user]]\nname = "pk%d"\ngroups = ["admins"]\npassword = "%s"\n\n' "$i" "$hash"
  done
} > "$work/users.toml"
chmod 600 "$work/users.toml" "$work/password"
printf '[[client]]\nclient_id = "bench"\nredirect_uris = ["http://127.0.0.1:9/cb"]\n' > "$work/clients.toml"
cat > "$work/idp.toml" <<TOML
issuer = "http://127.0.0.1:$port"
listen = "127.0.0.1:$port"
policy = "policy.toml"
seal_key = "seal.key"
store = "store.toml"
users = "users.toml"
clients = "clients.toml"
state_dir = "state"
TOML
node "$root/bench/idp_bench.mjs" "$work/idp.toml" "$n" "$out"
