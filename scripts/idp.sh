#!/usr/bin/env bash
# Starts the reference identity provider (idp/) in one command.
#
#   scripts/idp.sh [--port N]         try it: a private PostgreSQL (TLS, in a
#                                     temporary directory, removed at exit),
#                                     the schema, demo users, and the provider
#                                     on http://127.0.0.1:3000 (or port N)
#                                     until Ctrl-C
#   scripts/idp.sh --config FILE      the provider with your idp.toml (see idp/README.md)
#
# Installs what it needs first: Node.js packages in idp/ and the component,
# built and transpiled (idp/build.sh), and builds the planasonix command and
# the PostgreSQL helper it runs.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
port=3000
config=""
case "${1:-}" in
  --config) config="${2:?--config needs a file}" ;;
  --port) port="${2:?--port needs a number}" ;;
  "") ;;
  *) echo "usage: scripts/idp.sh [--port N | --config FILE]" >&2; exit 2 ;;
esac
if ! [[ "$port" =~ ^[0-9]{1,5}$ ]] || [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
  echo "scripts/idp.sh: --port takes a port number, 1 to 65535" >&2
  exit 2
fi
# Said before anything is built or started: a port already in use.
if [ -z "$config" ] && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  echo "scripts/idp.sh: 127.0.0.1:$port is already in use: stop what listens there, or pick another port with --port N" >&2
  exit 1
fi
scripts/setup.sh demo
command -v node >/dev/null || { echo "scripts/idp.sh needs Node.js 20 or later (apt-get install nodejs npm)" >&2; exit 1; }
idp/build.sh
if [ -n "$config" ]; then
  exec node idp/src/main.mjs serve --config "$config"
fi

# What this script runs below, built first (a clean clone has no target/).
cargo build --locked --quiet -p planasonix --bin planasonix
cargo build --locked --quiet -p planasonix-testkit --example postgres_server
target="${CARGO_TARGET_DIR:-$root/target}"
dir="$(mktemp -d /tmp/planasonix-idp.XXXXXX)"
chmod 700 "$dir"
pg="" provider=""
cleanup() {
  set +e
  [ -n "$provider" ] && kill "$provider" 2>/dev/null
  exec 3>&- 2>/dev/null || true
  [ -n "$pg" ] && wait "$pg" 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkfifo "$dir/pg.in"
"$target/debug/examples/postgres_server" "$dir/store.toml" < "$dir/pg.in" > "$dir/pg.out" 2>&1 &
pg=$!
exec 3> "$dir/pg.in"
for _ in $(seq 300); do grep -q ready "$dir/pg.out" && break; sleep 0.1; done
grep -q ready "$dir/pg.out" || { cat "$dir/pg.out"; exit 1; }

cli=("$target/debug/planasonix" --store "$dir/store.toml" --db "$dir/db" --key "$dir/seal.key" --config "$dir/policy.toml")
"${cli[@]}" init >/dev/null
"${cli[@]}" store migrate
cat > "$dir/policy.toml" <<'TOML'
[enforcement]
mode = "required-for-all"
admin_groups = ["mfa-admins"]
grace_period = "7d"
enroll_at_login = true

[step_up]
export-secrets = "2m"
TOML

password="$(head -c 9 /dev/urandom | base64 | tr '+/' '-_')"
hash="$(printf '%s\n' "$password" | node idp/src/main.mjs hash-password)"
cat > "$dir/users.toml" <<TOML
[[user]]
name = "alice"
display_name = "Alice Example"
email = "alice@example.com"
groups = ["staff"]
password = "$hash"

[[user]]
name = "admin"
display_name = "Workspace Admin"
groups = ["mfa-admins"]
password = "$hash"
TOML
chmod 600 "$dir/users.toml"
cat > "$dir/clients.toml" <<'TOML'
[[client]]
client_id = "demo-app"
client_name = "Demo application"
redirect_uris = ["http://127.0.0.1:8080/callback"]
TOML
cat > "$dir/idp.toml" <<TOML
issuer = "http://127.0.0.1:$port"
listen = "127.0.0.1:$port"
policy = "policy.toml"
seal_key = "seal.key"
store = "store.toml"
users = "users.toml"
clients = "clients.toml"
state_dir = "state"
TOML

# The banner once the provider listens; if it does not start, what it said.
mkfifo "$dir/idp.out"
node idp/src/main.mjs serve --config "$dir/idp.toml" > "$dir/idp.out" &
provider=$!
exec 4< "$dir/idp.out"
if ! IFS= read -r first <&4 || [[ "$first" != listening* ]]; then
  wait "$provider" || true
  provider=""
  echo "scripts/idp.sh: the provider did not start (its reason is above)" >&2
  exit 1
fi
cat <<EOF

The reference identity provider, on a private PostgreSQL in $dir:

  Security page   http://127.0.0.1:$port/security/mfa
  Admin page      http://127.0.0.1:$port/admin
  Sign in as      alice (or admin), password: $password
  OIDC discovery  http://127.0.0.1:$port/.well-known/openid-configuration
  A client        client_id demo-app, redirect_uri http://127.0.0.1:8080/callback, PKCE (S256)

MFA is required for everyone, with a 7-day grace period; the admin page asks
for a second factor passed in the last 15 minutes. Ctrl-C stops it and
removes everything.

EOF
cat <&4 &
wait "$provider"
