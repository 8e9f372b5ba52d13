# pam_planasonix %post: seal key (0600) and state directory (0700), only where
# absent; an existing key is never replaced. Nothing is added to the PAM
# stacks: see packaging/README.md for the authselect and manual lines.
install -d -m 0700 /var/lib/planasonix
if ! /usr/bin/planasonix init >/dev/null; then
    echo "pam_planasonix: 'planasonix init' failed (see above); pam_planasonix.so" >&2
    echo "pam_planasonix: refuses logins it is asked to check until it succeeds." >&2
fi
