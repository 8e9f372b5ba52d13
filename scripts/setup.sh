#!/usr/bin/env bash
# Installs the prerequisites of Planasonix MFA, skipping what is already there.
# Safe to run again; needs root (or sudo) for the Debian packages.
#   scripts/setup.sh demo   what the end-to-end demo needs (scripts/demo.sh)
#   scripts/setup.sh        everything the whole test suite needs as well:
#                           lint, package, fuzz and browser-side tools
set -euo pipefail

mode="${1:-all}"
case "$mode" in demo|all) ;; *) echo "usage: $0 [demo]" >&2; exit 2 ;; esac

# The demo: build the PAM module (pam-sys runs bindgen), run it under real
# libpam with pam_wrapper and nss_wrapper, check codes with oathtool.
DEMO_PACKAGES=(
  build-essential pkg-config clang libclang-dev   # ring for wasm32, pam-sys bindgen
  libpam0g-dev pamtester libpam-wrapper libnss-wrapper  # the module under real libpam
  oathtool                                        # independent TOTP codes
)
# The rest of the test suite.
TEST_PACKAGES=(
  libfaketime                                     # crash test: a clock per process
  zbar-tools                                      # QR codes decode
  libpam-google-authenticator                     # files for the `import google-authenticator` test
  openssh-server openssh-client expect            # sshd end-to-end tests
  lintian rpm rpmlint man-db debootstrap           # package build, lint and install tests
  systemd                                         # systemd-analyze verify for the unit file
  postgresql openssl                              # the fleet store: a private cluster per test, TLS by a test CA
  chromium                                        # the reference identity provider's browser tests (headless)
)
APT_PACKAGES=("${DEMO_PACKAGES[@]}")
[ "$mode" = all ] && APT_PACKAGES+=("${TEST_PACKAGES[@]}")

say() { printf '[setup] %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  say "Debian packages present"
fi

if ! command -v cargo >/dev/null 2>&1; then
  say "cargo not found: install Rust 1.95 with rustup first" >&2
  exit 1
fi

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
  say "adding the wasm32-wasip2 target"
  rustup target add wasm32-wasip2
else
  say "wasm32-wasip2 target present"
fi

if [ "$mode" = demo ]; then
  exit 0
fi

# Miri checks the PAM module's FFI (the conversation's reply handling); the
# suite fails without it, so a missing toolchain cannot pass the gate.
if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  say "installing the nightly toolchain with miri (for the FFI's Miri test)"
  rustup toolchain install nightly --profile minimal --component miri,rust-src >/dev/null
elif ! cargo +nightly miri --version >/dev/null 2>&1; then
  say "adding miri to the nightly toolchain"
  rustup component add --toolchain nightly miri rust-src >/dev/null
else
  say "nightly with miri present"
fi

for tool in cargo-deb cargo-generate-rpm cargo-fuzz; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    say "installing $tool (cargo install --locked)"
    cargo install --locked --quiet "$tool"
  else
    say "$tool present"
  fi
done

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  say "installing Node.js (for the jco conformance run)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
root="$(cd "$(dirname "$0")/.." && pwd)"
jco_dir="$root/tests/jco"
if [ ! -x "$jco_dir/node_modules/.bin/jco" ]; then
  say "installing jco into tests/jco (npm ci)"
  (cd "$jco_dir" && npm ci --no-audit --no-fund --loglevel=error)
else
  say "jco present"
fi
# The reference identity provider and its tests (oidc-provider, pg, argon2,
# jco, openid-client, playwright-core: no browser download, Debian's chromium).
if [ ! -d "$root/idp/node_modules/playwright-core" ] || [ "$root/idp/package-lock.json" -nt "$root/idp/node_modules/.package-lock.json" ]; then
  say "installing the identity provider's packages into idp/ (npm ci)"
  (cd "$root/idp" && npm ci --no-audit --no-fund --loglevel=error)
else
  say "identity provider packages present"
fi
