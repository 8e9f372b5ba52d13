# pam_planasonix %post: seal key (0600) and state directory (0700), only where
# absent; an existing key is never replaced. Nothing is added to the PAM
# stacks: see packaging/README.md for the authselect and manual lines.
# The state service's system user; it owns the state directory, never the key.
if command -v systemd-sysusers >/dev/null 2>&1; then
    systemd-sysusers /usr/lib/sysusers.d/planasonix.conf >/dev/null 2>&1 || :
fi
getent passwd planasonix >/dev/null || useradd -r -U -d /var/lib/planasonix -M \
    -s /sbin/nologin -c "Planasonix MFA state service" planasonix
install -d -m 0700 /var/lib/planasonix
if ! /usr/bin/planasonix init >/dev/null; then
    echo "pam_planasonix: 'planasonix init' failed (see above); pam_planasonix.so" >&2
    echo "pam_planasonix: refuses logins it is asked to check until it succeeds." >&2
fi
# The state directory and the database (not the audit trail, which root's
# logins append and the service never writes); never following links.
chown planasonix:planasonix /var/lib/planasonix
find /var/lib/planasonix/db -xdev -user root \( -type d -o -type f -links 1 \) -exec chown -h planasonix:planasonix {} +
# The state service follows the system's presets (as %systemd_post does): on
# Fedora and EL it stays disabled until `systemctl enable --now planasonix`.
# Logins work without it, only slower. On upgrade a running one is restarted.
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
    if [ "$1" -eq 1 ]; then
        systemctl --no-reload preset planasonix.service >/dev/null 2>&1 || :
    else
        systemctl try-restart planasonix.service >/dev/null 2>&1 || :
    fi
fi
