#!/usr/bin/env bash
# Package acceptance: lintian and rpmlint, RPM contents and scriptlets, man pages
# render cleanly, and an install test of the .deb inside a throwaway Debian
# chroot (debootstrap), so the host's own PAM stacks are never touched.
# Runs packaging/build.sh first unless dist/ already holds both packages.
# Needs root (dpkg inside the chroot, mounts).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
dist="$root/dist"
say() { printf '[package-test] %s\n' "$*"; }
fail() { printf '[package-test] FAILED: %s\n' "$*" >&2; exit 1; }

deb="$(ls "$dist"/libpam-planasonix_*.deb 2>/dev/null | head -n1 || true)"
rpm="$(ls "$dist"/pam_planasonix-*.rpm 2>/dev/null | head -n1 || true)"
if [ -z "$deb" ] || [ -z "$rpm" ]; then
  packaging/build.sh
  deb="$(ls "$dist"/libpam-planasonix_*.deb | head -n1)"
  rpm="$(ls "$dist"/pam_planasonix-*.rpm | head -n1)"
fi

# --- lint ---------------------------------------------------------------------
say "lintian $(basename "$deb")"
# Remaining warnings and infos are listed and justified in packaging/README.md.
lintian --fail-on error --display-info "$deb" || fail "lintian reports errors (see above)"

say "rpmlint $(basename "$rpm")"
rpmlint_out="$(rpmlint -c packaging/rpmlint.toml "$rpm" 2>&1 || true)"
printf '%s\n' "$rpmlint_out" | grep -E ': [EW]: ' | sed 's/^/    /' || true
# Accepted, each justified in packaging/README.md: the package is unsigned, and
# cargo-generate-rpm cannot write the Packager, Group, BuildHost or changelog tags.
accepted='no-signature|no-packager-tag|no-group-tag|no-buildhost-tag|no-changelogname-tag'
if printf '%s\n' "$rpmlint_out" | grep -E ': E: ' | grep -vE ": E: ($accepted)\$"; then
  fail "rpmlint reports errors beyond the accepted ones"
fi
printf '%s\n' "$rpmlint_out" | grep -qE '[0-9]+ packages? and 0 specfiles checked' \
  || fail "rpmlint did not check the package"

# --- RPM contents ---------------------------------------------------------------
say "RPM contents and modes"
want_rpm="$(cat <<'LIST'
-rwxr-xr-x /usr/bin/planasonix
-rw-r--r-- /etc/planasonix/policy.toml
-rwxr-xr-x /usr/lib64/security/pam_planasonix.so
-rw-r--r-- /usr/share/bash-completion/completions/planasonix
-rw-r--r-- /usr/share/doc/pam_planasonix/README.md
-rw-r--r-- /usr/share/fish/vendor_completions.d/planasonix.fish
-rw-r--r-- /usr/share/man/man1/planasonix.1.gz
-rw-r--r-- /usr/share/man/man5/planasonix-policy.5.gz
-rw-r--r-- /usr/share/man/man5/planasonix-store.5.gz
-rw-r--r-- /usr/share/man/man5/planasonix-delivery.5.gz
-rwxr-xr-x /usr/lib/planasonix/deliver-sms
-rwxr-xr-x /usr/lib/planasonix/deliver-notice
-rw-r--r-- /usr/share/man/man8/pam_planasonix.8.gz
-rw-r--r-- /usr/share/planasonix/planasonix_mfa.wasm
-rw-r--r-- /usr/share/zsh/site-functions/_planasonix
-rw-r--r-- /usr/lib/systemd/system/planasonix.service
-rw-r--r-- /usr/lib/sysusers.d/planasonix.conf
LIST
)"
got_rpm="$(rpm -qp --qf '[%{FILEMODES:perms} %{FILENAMES}\n]' "$rpm" | sort -k2)"
if [ "$(printf '%s\n' "$want_rpm" | sort -k2)" != "$got_rpm" ]; then
  diff <(printf '%s\n' "$want_rpm" | sort -k2) <(printf '%s\n' "$got_rpm") || true
  fail "RPM file list or modes differ from the expected ones"
fi
rpm -qp --configfiles "$rpm" | grep -qx /etc/planasonix/policy.toml \
  || fail "policy.toml is not a config file in the RPM"
[ "$(rpm -qp --qf '[%{FILEFLAGS:fflags} %{FILENAMES}\n]' "$rpm" | grep ' /etc/planasonix/policy.toml$' | cut -d' ' -f1)" = cn ] \
  || fail "policy.toml is not %config(noreplace)"
scripts="$(rpm -qp --scripts "$rpm")"
printf '%s\n' "$scripts" | sed 's/^/    /'
printf '%s\n' "$scripts" | grep -q '^postinstall scriptlet' || fail "no %post scriptlet"
printf '%s\n' "$scripts" | grep -q 'planasonix init' || fail "%post does not create the key and state directory"
printf '%s\n' "$scripts" | grep -q 'chown planasonix:planasonix /var/lib/planasonix' || fail "%post does not give the state directory to the service user"
printf '%s\n' "$scripts" | grep -q '^preuninstall scriptlet' || fail "no %preun scriptlet"
printf '%s\n' "$scripts" | grep -q 'disable --now planasonix.service' || fail "%preun does not stop the state service"

say "systemd unit"
unit_warnings="$(systemd-analyze verify --man=no packaging/systemd/planasonix.service 2>&1 | grep -v 'Command /usr/bin/planasonix is not executable' || true)"
[ -z "$unit_warnings" ] || { printf '%s\n' "$unit_warnings"; fail "systemd-analyze verify complains about planasonix.service"; }
rpm -qp --requires "$rpm" | grep -q '^pam' || fail "RPM does not require pam"

# --- man pages ------------------------------------------------------------------
say "man pages render without warnings"
for page in packaging/man/*.[0-9]; do
  warnings="$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)"
  [ -z "$warnings" ] || { printf '%s\n' "$warnings"; fail "$page renders with warnings"; }
done

# --- install test in a chroot ----------------------------------------------------
chroot_dir="$(mktemp -d /var/tmp/planasonix-pkgtest.XXXXXX)"
# mktemp makes it 0700: as the chroot's /, that would shut out every user but root.
chmod 0755 "$chroot_dir"
cleanup() {
  umount "$chroot_dir/proc" 2>/dev/null || true
  rm -rf --one-file-system "$chroot_dir"
}
trap cleanup EXIT
in_chroot() { chroot "$chroot_dir" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"; }

say "debootstrap a minimal Debian 12 into $chroot_dir"
debootstrap --variant=minbase --include=pamtester,adduser bookworm "$chroot_dir" http://deb.debian.org/debian >"$chroot_dir.log" 2>&1 \
  || { tail -n 20 "$chroot_dir.log"; fail "debootstrap failed"; }
rm -f "$chroot_dir.log"
mount -t proc proc "$chroot_dir/proc"
common_auth_before="$(cat "$chroot_dir/etc/pam.d/common-auth")"

say "dpkg -i $(basename "$deb")"
cp "$deb" "$chroot_dir/tmp/pkg.deb"
install_out="$(in_chroot dpkg -i /tmp/pkg.deb 2>&1)" || { printf '%s\n' "$install_out"; fail "dpkg -i failed"; }
printf '%s\n' "$install_out" | sed 's/^/    /'
# postinst prints `planasonix doctor --summary`; the profile is still off.
printf '%s\n' "$install_out" | grep -q '^    login: not-protected: pam_planasonix.so is not in the auth stack' \
  || fail "postinst did not print the planasonix doctor summary"
files="$(in_chroot dpkg -L libpam-planasonix)"
for f in /lib/x86_64-linux-gnu/security/pam_planasonix.so /usr/bin/planasonix \
         /usr/share/planasonix/planasonix_mfa.wasm /usr/share/pam-configs/planasonix \
         /etc/planasonix/policy.toml /usr/share/man/man8/pam_planasonix.8.gz \
         /lib/systemd/system/planasonix.service; do
  printf '%s\n' "$files" | grep -qx "$f" || fail "the package does not ship $f"
done
say "the installed component has no way to take a test seed; fresh sessions enroll different secrets"
# The host's tests on the file the package installed (built already by scripts/test.sh).
PLANASONIX_SHIPPED_WASM="$chroot_dir/usr/share/planasonix/planasonix_mfa.wasm" \
  cargo test --locked --quiet -p planasonix-host --test integration -- --exact \
    randomness::a_host_cannot_make_fresh_sessions_of_the_shipped_component_share_a_secret \
    randomness::the_shipped_component_cannot_even_name_a_seed \
    randomness::fresh_sessions_of_the_shipped_component_enroll_different_secrets \
  || fail "the packaged component can be seeded (a test build was packaged)"
[ "$(stat -c %a "$chroot_dir/etc/planasonix/seal.key")" = 600 ] || fail "seal key is not 0600"
[ "$(stat -c %a "$chroot_dir/var/lib/planasonix")" = 700 ] || fail "state directory is not 0700"
in_chroot getent passwd planasonix >/dev/null || fail "postinst did not create the planasonix system user"
# Owners by name inside the chroot: the host has no planasonix user.
[ "$(in_chroot stat -c %U /var/lib/planasonix)" = planasonix ] || fail "the state directory is not the service user's"
[ "$(in_chroot stat -c %U /var/lib/planasonix/db)" = planasonix ] || fail "the database is not the service user's"
[ "$(in_chroot stat -c %U /etc/planasonix/seal.key)" = root ] || fail "the seal key is not root's"
[ "$(cat "$chroot_dir/etc/pam.d/common-auth")" = "$common_auth_before" ] \
  || fail "installing changed common-auth (the profile must be Default: no)"

say "provision a user with the installed planasonix, log in through pam_planasonix.so by bare name"
in_chroot useradd --create-home alice
secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP
# From a root-only file: a secret on the command line is refused (exit 2).
rc=0; in_chroot planasonix admin provision-totp alice --secret "$secret" >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "a secret on the command line was not refused (exit $rc)"
printf '%s\n' "$secret" > "$chroot_dir/root/alice.secret"
chmod 600 "$chroot_dir/root/alice.secret"
recovery="$(in_chroot planasonix admin provision-totp alice --secret-file /root/alice.secret | sed -n 's/^    \([0-9A-Z]\{5\}-[0-9A-Z]\{5\}\)$/\1/p')"
[ "$(printf '%s\n' "$recovery" | wc -l)" = 10 ] || fail "provision-totp did not print 10 recovery codes"
cat > "$chroot_dir/etc/pam.d/planasonix-test" <<'PAM'
auth    required    pam_planasonix.so
account required    pam_permit.so
PAM
login() { printf '%s\n' "$1" | in_chroot pamtester -I rhost=192.0.2.7 planasonix-test alice authenticate 2>&1; }
if out="$(login 000000)"; then fail "a wrong code was accepted: $out"; fi
printf '    wrong code: %s\n' "$out"
code="$(oathtool --totp -b "$secret")"
out="$(login "$code")" || fail "a valid code was refused: $out"
printf '    valid code: %s\n' "$out"
if out="$(login "$code")"; then fail "a replayed code was accepted: $out"; fi
printf '    replayed code: %s\n' "$out"

if [ -x "$chroot_dir/usr/bin/deb-systemd-helper" ]; then
  [ -L "$chroot_dir/etc/systemd/system/multi-user.target.wants/planasonix.service" ] \
    || fail "postinst did not enable planasonix.service"
  echo "    planasonix.service enabled by postinst"
else
  echo "    the chroot has no deb-systemd-helper (init-system-helpers), so nothing enables units there"
fi
say "the state service as the unit runs it (its own user, no seal key): logins go through the socket"
unit="$chroot_dir/lib/systemd/system/planasonix.service"
service_user="$(sed -n 's/^User=//p' "$unit")"
[ "$service_user" = planasonix ] || fail "the unit does not run the service as planasonix (User=$service_user)"
grep -qx 'InaccessiblePaths=-/etc/planasonix/seal.key' "$unit" || fail "the unit does not hide the seal key"
as_service() { in_chroot setpriv --reuid "$service_user" --regid "$service_user" --init-groups "$@"; }
# The service in the background as one process (chroot, env and setpriv each
# exec the next), so that $serve_pid is planasonix itself and kill stops it.
start_service() {
  chroot "$chroot_dir" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 \
    setpriv --reuid "$service_user" --regid "$service_user" --init-groups \
    planasonix --wait 30s serve > "$chroot_dir/tmp/serve.out" 2>&1 &
  serve_pid=$!
  for _ in $(seq 100); do grep -q '^serving ' "$chroot_dir/tmp/serve.out" 2>/dev/null && return 0; sleep 0.1; done
  cat "$chroot_dir/tmp/serve.out"
  fail "planasonix serve did not start as $service_user"
}
if as_service cat /etc/planasonix/seal.key >/dev/null 2>&1; then fail "the service user can read the seal key"; fi
echo "    unit: User=$service_user; the seal key is unreadable to it"
start_service
[ "$(stat -c %a "$chroot_dir/var/lib/planasonix/db.sock")" = 600 ] || fail "the socket is not 0600"
[ "$(in_chroot stat -c %U /var/lib/planasonix/db.sock)" = "$service_user" ] || fail "the socket is not the service user's"
first="$(printf '%s\n' "$recovery" | head -n 1)"
out="$(login "$first")" || fail "a recovery code was refused through the service: $out"
printf '    recovery code through the service: %s\n' "$out"
if out="$(login "$first")"; then fail "a spent recovery code was accepted through the service: $out"; fi
if out="$(login "$code")"; then fail "a replayed code was accepted through the service: $out"; fi
printf '    replayed code through the service: %s\n' "$out"
kill "$serve_pid"; wait "$serve_pid" 2>/dev/null || true
if kill -0 "$serve_pid" 2>/dev/null; then fail "the state service is still running after kill"; fi
# Stopped: root's logins open the database themselves and hand what they
# wrote back to the service user, so the service starts again afterwards.
second="$(printf '%s\n' "$recovery" | sed -n 2p)"
out="$(login "$second")" || fail "a recovery code was refused with the service stopped: $out"
printf '    recovery code with the service stopped: %s\n' "$out"
left_to_root="$(find "$chroot_dir/var/lib/planasonix/db" -user root | head -n 3)"
[ -z "$left_to_root" ] || fail "a direct login left root-owned files in the database: $left_to_root"
start_service
if out="$(login "$second")"; then fail "a spent recovery code was accepted through the restarted service: $out"; fi
kill "$serve_pid"; wait "$serve_pid" 2>/dev/null || true

say "pam-auth-update --enable planasonix, then --disable"
in_chroot pam-auth-update --enable planasonix
grep -q 'pam_planasonix.so' "$chroot_dir/etc/pam.d/common-auth" || fail "--enable did not add the module to common-auth"
# Captured first: grep -q stops reading at its match, and the CLI's next write
# would then fail with a broken pipe.
summary="$(in_chroot planasonix doctor --summary)"
printf '%s\n' "$summary" | grep -qx 'login: protected' \
  || { in_chroot planasonix doctor || true; fail "planasonix doctor does not see login protected after --enable"; }
in_chroot pam-auth-update --disable planasonix
[ "$(cat "$chroot_dir/etc/pam.d/common-auth")" = "$common_auth_before" ] \
  || { diff <(printf '%s\n' "$common_auth_before") "$chroot_dir/etc/pam.d/common-auth" || true; fail "common-auth differs after --disable"; }

say "enabled, then dpkg --purge: the profile leaves the stacks and nothing is left behind"
in_chroot pam-auth-update --enable planasonix
rm "$chroot_dir/etc/pam.d/planasonix-test"
in_chroot dpkg --purge libpam-planasonix
[ "$(cat "$chroot_dir/etc/pam.d/common-auth")" = "$common_auth_before" ] \
  || fail "common-auth still differs after purge"
left=""
while IFS= read -r f; do
  [ -z "$f" ] || [ -d "$chroot_dir$f" ] && continue
  [ -e "$chroot_dir$f" ] && left="$left $f"
done <<< "$files"
for f in /etc/planasonix /var/lib/planasonix; do
  [ -e "$chroot_dir$f" ] && left="$left $f"
done
[ -z "$left" ] || fail "left behind after purge:$left"
say "all package checks passed"
