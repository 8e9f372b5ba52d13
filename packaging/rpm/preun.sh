# pam_planasonix %preun: on erase (not upgrade), stop and disable the state
# service, as %systemd_preun does.
if [ "$1" -eq 0 ] && [ -d /run/systemd/system ]; then
    systemctl --no-reload disable --now planasonix.service >/dev/null 2>&1 || :
fi
