#!/usr/bin/env bash
# Builds the Debian and RPM packages from a clean clone:
#   packaging/build.sh            -> dist/libpam-planasonix_*.deb, dist/pam_planasonix-*.rpm
# Runs scripts/setup.sh first (Debian tools, the wasm32 target, cargo-deb and
# cargo-generate-rpm, each skipped when present). Respects CARGO_TARGET_DIR.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
target="${CARGO_TARGET_DIR:-$root/target}"
stage="$root/packaging/stage"
dist="$root/dist"

say() { printf '[package] %s\n' "$*"; }

scripts/setup.sh

say "building pam_planasonix.so and planasonix (release)"
# Two builds, so the module's native crate is built without the CLI's
# features: the shipped module never links the state service's server or the
# PostgreSQL client.
cargo build --locked --release -p pam_planasonix
cargo build --locked --release -p planasonix
say "building the component (wasm32-wasip2, release)"
# The production component: no features, so world `plugin`, which cannot take a seed.
# The conformance variant (feature test-randomness) is built only by the host's
# tests, into wasm32-wasip2/conformance/, and never staged.
cargo build --locked --release -p planasonix-wasm --target wasm32-wasip2

say "staging files in packaging/stage"
rm -rf "$stage"
install -d "$stage/man" "$stage/completions"
install -m 0644 "$target/release/libpam_planasonix.so" "$stage/pam_planasonix.so"
install -m 0755 "$target/release/planasonix" "$stage/planasonix"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$stage/pam_planasonix.so" "$stage/planasonix"
install -m 0644 "$target/wasm32-wasip2/release/planasonix_wasm.wasm" "$stage/planasonix_mfa.wasm"
install -m 0644 core/src/policy/default.toml "$stage/policy.toml"
for page in packaging/man/*.[0-9]; do
  gzip -9n -c "$page" > "$stage/man/$(basename "$page").gz"
done
"$stage/planasonix" completions bash > "$stage/completions/planasonix"
"$stage/planasonix" completions zsh > "$stage/completions/_planasonix"
"$stage/planasonix" completions fish > "$stage/completions/planasonix.fish"
chmod 0644 "$stage"/completions/* "$stage"/man/*

rm -rf "$dist"
install -d "$dist"
say "building the .deb"
cargo deb --locked --no-build --no-strip -p planasonix --output "$dist/"
say "building the .rpm"
cargo generate-rpm -p cli --output "$dist/"
ls -l "$dist"
