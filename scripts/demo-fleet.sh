#!/usr/bin/env bash
# The fleet chapter of the demo: two hosts and the identity provider on one
# local PostgreSQL. A private cluster (TLS by a throwaway CA) in a temporary
# directory; each host its own configuration directory and `planasonix
# serve`; logins through real libpam (pamtester under pam_wrapper, users in a
# private passwd file through nss_wrapper, so /etc is untouched); the IdP is
# the component under wasmtime (host/examples/fleet_idp.rs) on the same
# store. Enroll once, log in anywhere; a code spent on one door is a replay on
# every other; a reset reaches every host. Runs only where PostgreSQL is
# installed (Debian's postgresql); exits non-zero if a step misbehaves.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "== (the fleet chapter needs PostgreSQL: apt-get install postgresql; skipped)"
  exit 0
fi
cargo build --locked --quiet -p planasonix -p pam_planasonix
cargo build --locked --quiet -p planasonix-testkit --example postgres_server
cargo build --locked --quiet -p planasonix-host --example fleet_idp
target="${CARGO_TARGET_DIR:-$PWD/target}"
cli="$target/debug/planasonix"
module="$target/debug/libpam_planasonix.so"
dir="$(mktemp -d /tmp/planasonix-fleet-demo.XXXXXX)"
chmod 755 "$dir"
pids=()
pg_pid=""
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  # The cluster is stopped and removed by postgres_server itself once its
  # standard input closes (a signal would leave it running).
  exec 3>&- 2>/dev/null || true
  [ -z "$pg_pid" ] || wait "$pg_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
say() { printf '\n== %s\n' "$*"; }

printf 'root:x:0:0:root:/root:/bin/sh\nalice:x:4242:4242:Alice (demo):/nonexistent:/usr/sbin/nologin\nbob:x:4243:4243:Bob (demo):/nonexistent:/usr/sbin/nologin\n' > "$dir/passwd"
printf 'root:x:0:\nalice:x:4242:\nbob:x:4243:\n' > "$dir/group"
export NSS_WRAPPER_PASSWD="$dir/passwd" NSS_WRAPPER_GROUP="$dir/group"

say "a PostgreSQL for the fleet (private, loopback, TLS verify-full by a throwaway CA)"
mkfifo "$dir/pg.in"
"$target/debug/examples/postgres_server" "$dir/store.toml" < "$dir/pg.in" > "$dir/pg.out" 2>&1 &
pg_pid=$!
exec 3> "$dir/pg.in"
for _ in $(seq 300); do grep -q ready "$dir/pg.out" && break; sleep 0.1; done
grep -q ready "$dir/pg.out" || { cat "$dir/pg.out"; exit 1; }
sed 's/^/   /' "$dir/store.toml"

host() { # host NAME: a configuration directory sharing the store and the seal key
  local h="$dir/$1"
  mkdir -p "$h/pam.d"
  cp "$dir/store.toml" "$h/store.toml"
  printf '[enforcement]\nmode = "required-for-all"\ngrace_period = "3d"\nexempt_users = ["root"]\n' > "$h/policy.toml"
  echo "auth required $module config=$h/policy.toml db=$h/db key=$h/seal.key store=$h/store.toml" > "$h/pam.d/sshd"
  echo "auth required pam_deny.so" > "$h/pam.d/other"
}
# Each simulated host has its own host name (a UTS namespace, as root), so
# the fleet's audit trail names it; without root both carry this machine's.
if [ "$(id -u)" -eq 0 ] && unshare --uts true 2>/dev/null; then
  as_host() { local name="$1"; shift; unshare --uts sh -c 'hostname "$0" && exec "$@"' "host-$name" "$@"; }
else
  as_host() { shift; "$@"; }
fi
on() { local name="$1" h="$dir/$1"; shift; as_host "$name" env LD_PRELOAD=libnss_wrapper.so "$cli" --config "$h/policy.toml" --db "$h/db" --key "$h/seal.key" --store "$h/store.toml" "$@"; }
login() { # login HOST USER INPUT WANT(ok|fail)
  local out rc=0
  out="$(printf '%s\n' "$3" | as_host "$1" env LD_PRELOAD="libpam_wrapper.so libnss_wrapper.so" PAM_WRAPPER=1 \
    PAM_WRAPPER_SERVICE_DIR="$dir/$1/pam.d" pamtester -I rhost=192.0.2.10 sshd "$2" authenticate 2>&1)" || rc=$?
  printf '%s\n' "$out" | grep -v '^PWRAP' | sed "s/^/   [$1] /"
  if { [ "$4" = ok ] && [ $rc -ne 0 ]; } || { [ "$4" = fail ] && [ $rc -eq 0 ]; }; then
    echo "demo expectation failed: $2 on $1 wanted $4" >&2
    exit 1
  fi
}

say "two hosts, A and B: one store file and one seal key; planasonix store migrate once"
host a
host b
on a init | sed 's/^/   [a] /'
cp "$dir/a/seal.key" "$dir/b/seal.key"
on b init | sed 's/^/   [b] /'
on a store migrate | sed 's/^/   [a] /'
for h in a b; do
  "$cli" --db "$dir/$h/db" --key "$dir/$h/seal.key" --store "$dir/$h/store.toml" serve > "$dir/$h/serve.out" 2>&1 &
  pids+=($!)
done
for h in a b; do
  for _ in $(seq 100); do [ -S "$dir/$h/db.sock" ] && break; sleep 0.05; done
  sed "s/^/   [$h] /" "$dir/$h/serve.out"
done

say "an admin enrolls alice on host A; she logs in on host B with her app's code"
secret="$(head -c 20 /dev/urandom | base32 | tr -d '=')"
printf '%s\n' "$secret" | on a admin provision-totp alice --secret - | sed -n '1s/^/   [a] /p'
code="$(oathtool --totp -b "$secret")"
login b alice "$code" ok
say "the same code on host A: a replay, refused fleet-wide"
login a alice "$code" fail

say "bob enrolls at the identity provider (the component under wasmtime, on the same store)"
idp=("$target/debug/examples/fleet_idp" "$dir/a/store.toml" "$dir/a/seal.key" "$dir/a/policy.toml")
"${idp[@]}" enroll bob "$dir/bob.app" | grep -v '^recovery '
idp_code="$(oathtool --totp -b "$(cat "$dir/bob.app")")"
echo "   bob signs in at the IdP with his app's code: $("${idp[@]}" verify bob "$idp_code")"
say "the code bob used at the IdP is a replay over SSH on host A"
login a bob "$idp_code" fail
say "bob's next code gets him in over SSH on host B: one enrollment, every door"
login b bob "$(oathtool --totp -b -N "@$(( $(date +%s) + 30 ))" "$(cat "$dir/bob.app")")" ok

say "an admin resets bob on host A; host B offers him a fresh enrollment window"
on a admin reset bob --reason "lost phone; identity checked by call-back" | sed 's/^/   [a] /'
login b bob "" ok

say "the fleet's one audit trail, read on host B"
on b audit --since 1h | tail -8 | sed 's/^/   [b] /'
