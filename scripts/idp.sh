#!/usr/bin/env bash
# Starts the reference identity provider (idp/) in one command.
#
#   scripts/idp.sh                    try it: a private PostgreSQL (TLS, in a
#                                     temporary directory, removed at exit),
#                                     the schema, demo users, and the provider
#                                     on http://127.0.0.1:3000 until Ctrl-C
#   scripts/idp.sh --config FILE      the provider with your idp.toml (see idp/README.md)
#
# Installs what it needs first: Node.js packages in idp/ and the component,
# built and transpiled (idp/build.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
scripts/setup.sh demo
command -v node >/dev/null || { echo "scripts/idp.sh needs Node.js 20 or later (apt-get install nodejs npm)" >&2; exit 1; }
idp/build.sh
if [ "${1:-}" = "--config" ]; then
  exec node idp/src/main.mjs serve --config "$2"
fi

cargo build --locked --quiet -p planasonix -p planasonix-testkit --example postgres_server
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
cat > "$dir/idp.toml" <<'TOML'
issuer = "http://127.0.0.1:3000"
listen = "127.0.0.1:3000"
policy = "policy.toml"
seal_key = "seal.key"
store = "store.toml"
users = "users.toml"
clients = "clients.toml"
state_dir = "state"
admin_groups = ["mfa-admins"]
TOML

cat <<EOF

The reference identity provider, on a private PostgreSQL in $dir:

  Security page   http://127.0.0.1:3000/security/mfa
  Admin page      http://127.0.0.1:3000/admin
  Sign in as      alice (or admin), password: $password
  OIDC discovery  http://127.0.0.1:3000/.well-known/openid-configuration
  A client        client_id demo-app, redirect_uri http://127.0.0.1:8080/callback, PKCE (S256)

MFA is required for everyone, with a 7-day grace period. Ctrl-C stops it and
removes everything.

EOF
node idp/src/main.mjs serve --config "$dir/idp.toml" &
provider=$!
wait "$provider"
