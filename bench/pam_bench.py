#!/usr/bin/env python3
"""PAM login latency: pam_permit (floor), pam_google_authenticator, pam_oath and
pam_planasonix, side by side in one run, each driven by pamtester with a valid
code, with 1 and with 10,000 enrolled users; then 32 parallel logins of
distinct users per module. Writes JSON; scripts/bench.sh prints the table.

Every login runs under pam_wrapper (private PAM service files; /etc/pam.d is
never read or touched), nss_wrapper (the 10,000 users exist only in a private
passwd file) and libfaketime: login i happens at T0 + 30*i seconds, so every
code is fresh for modules that refuse reuse (all three do). The wrappers are
the same for every module, floor included, so the floor subtracts them. Every
login and every burst starts after a sync, so no module's fsyncs pay for the
writes the module before it left (on ext4 an fsync may have to write them).
Parallel logins go through long-lived worker shells (see Workers).
"""
import argparse
import base64
import concurrent.futures
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

T0 = 1_800_000_000
PRELOAD = ":".join([
    "libpam_wrapper.so",
    "libnss_wrapper.so",
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
])
# pam_planasonix runs as packaged, with the state service (`planasonix serve`)
# keeping the database open; pam_planasonix_direct has no service and opens
# sled in every login, on a copy of the same database.
MODULES = ["pam_permit", "pam_google_authenticator", "pam_oath", "pam_planasonix", "pam_planasonix_direct"]
# With --postgres: pam_planasonix on a fleet's shared PostgreSQL store (a private,
# durable cluster per size), through host A's `planasonix serve`; its parallel
# logins alternate between host A and host B (a second service, same database).
PG_MODULE = "pam_planasonix_pg"


def secret(i):
    return hashlib.sha1(b"bench-user-%d" % i).digest()


def user(i):
    return "u%05d" % i


def totp(key, at):
    import hmac
    mac = hmac.new(key, (at // 30).to_bytes(8, "big"), "sha1").digest()
    off = mac[-1] & 0x0F
    return "%06d" % ((int.from_bytes(mac[off:off + 4], "big") & 0x7FFFFFFF) % 1_000_000)


class Setup:
    """Private passwd/group, per-module state and PAM service files for n users."""

    def __init__(self, root, n, module_so, cli, pg_server=None):
        self.dir = os.path.join(root, "users-%d" % n)
        self.stoppable = []
        self.n = n
        os.makedirs(os.path.join(self.dir, "pam.d"))
        with open(os.path.join(self.dir, "passwd"), "w") as f:
            f.write("root:x:0:0:root:/root:/bin/sh\n")
            for i in range(n):
                f.write("%s:x:%d:%d::/nonexistent:/bin/sh\n" % (user(i), 10000 + i, 10000 + i))
        with open(os.path.join(self.dir, "group"), "w") as f:
            f.write("root:x:0:\n")
            for i in range(n):
                f.write("%s:x:%d:\n" % (user(i), 10000 + i))
        # google-authenticator: one file per user, read as root (user=root).
        ga = os.path.join(self.dir, "ga")
        os.makedirs(ga, mode=0o700)
        for i in range(n):
            p = os.path.join(ga, user(i))
            with open(p, "w") as f:
                f.write(base64.b32encode(secret(i)).decode() + "\n")
                f.write('" WINDOW_SIZE 3\n" DISALLOW_REUSE\n" TOTP_AUTH\n')
            os.chmod(p, 0o600)
        # pam_oath: one users file.
        oath = os.path.join(self.dir, "users.oath")
        with open(oath, "w") as f:
            for i in range(n):
                f.write("HOTP/T30\t%s\t-\t%s\n" % (user(i), secret(i).hex()))
        os.chmod(oath, 0o600)
        # planasonix: the same secrets, taken over from the pam_oath file by the CLI.
        p = os.path.join(self.dir, "planasonix")
        args = ["--config", p + "/policy.toml", "--db", p + "/db", "--key", p + "/seal.key"]
        subprocess.run([cli] + args + ["init"], check=True, stdout=subprocess.DEVNULL)
        # The CLI resolves user names through NSS, like the module: the bench's
        # users exist only in the private passwd file.
        subprocess.run([cli] + args + ["--json", "import", "oath-usersfile", oath],
                       check=True, stdout=subprocess.DEVNULL,
                       env=dict(self.env(), LD_PRELOAD="libnss_wrapper.so"))
        direct = os.path.join(self.dir, "planasonix-direct")
        shutil.copytree(p, direct)
        pg_lines = {}
        if pg_server:
            pg_lines = self.shared_hosts(p, cli, pg_server, module_so)
        self.service = self.serve(cli, ["--db", p + "/db"])
        services = {
            "pam_permit": "pam_permit.so",
            "pam_google_authenticator": "pam_google_authenticator.so secret=%s/${USER} user=root" % ga,
            "pam_oath": "pam_oath.so usersfile=%s window=1 digits=6" % oath,
            "pam_planasonix": "%s config=%s/policy.toml db=%s/db key=%s/seal.key" % (module_so, p, p, p),
            "pam_planasonix_direct": "%s config=%s/policy.toml db=%s/db key=%s/seal.key"
            % (module_so, direct, direct, direct),
        }
        services.update(pg_lines)
        for name, line in services.items():
            with open(os.path.join(self.dir, "pam.d", name), "w") as f:
                f.write("auth required %s\naccount required pam_permit.so\n" % line)
        with open(os.path.join(self.dir, "pam.d", "other"), "w") as f:
            f.write("auth required pam_deny.so\n")

    def serve(self, cli, args):
        service = subprocess.Popen([cli] + args + ["serve"], stdout=subprocess.PIPE)
        if not service.stdout.readline().startswith(b"serving"):
            raise SystemExit("planasonix serve did not start")
        self.stoppable.append(service)
        return service

    def shared_hosts(self, p, cli, pg_server, module_so):
        """A private PostgreSQL holding the same users (store copy from the sled
        database), and hosts A and B serving it; returns their service lines."""
        store = os.path.join(self.dir, "store.toml")
        self.pg = subprocess.Popen([pg_server, store], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        if self.pg.stdout.readline() != b"ready\n":
            raise SystemExit("the benchmark's PostgreSQL did not start")
        args = ["--config", p + "/policy.toml", "--db", p + "/db", "--key", p + "/seal.key", "--store", store]
        subprocess.run([cli] + args + ["store", "migrate"], check=True, stdout=subprocess.DEVNULL)
        subprocess.run([cli] + args + ["store", "copy", "--from", "sled:" + p + "/db"],
                       check=True, stdout=subprocess.DEVNULL)
        lines = {}
        for name, host in ((PG_MODULE, "pg-a"), (PG_MODULE + "_b", "pg-b")):
            d = os.path.join(self.dir, host)
            os.makedirs(d, mode=0o700)
            self.serve(cli, ["--db", d + "/db", "--store", store])
            lines[name] = "%s config=%s/policy.toml db=%s/db key=%s/seal.key store=%s" % (
                module_so, p, d, p, store)
        return lines

    def stop(self):
        for service in self.stoppable:
            service.terminate()
            service.wait()
        if getattr(self, "pg", None):
            self.pg.stdin.close()
            self.pg.wait()

    def env(self):
        return dict(os.environ,
                    PAM_WRAPPER="1",
                    PAM_WRAPPER_SERVICE_DIR=os.path.join(self.dir, "pam.d"),
                    NSS_WRAPPER_PASSWD=os.path.join(self.dir, "passwd"),
                    NSS_WRAPPER_GROUP=os.path.join(self.dir, "group"),
                    TZ="UTC")

    def login(self, module, i, at):
        """One pamtester login of user i at time `at`; returns (seconds, ok)."""
        env = dict(self.env(), LD_PRELOAD=PRELOAD, FAKETIME=faketime(at))
        code = totp(secret(i), at) + "\n"
        start = time.perf_counter()
        r = subprocess.run(["pamtester", "-I", "rhost=192.0.2.1", module, user(i), "authenticate"],
                           input=code.encode(), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        elapsed = time.perf_counter() - start
        return elapsed, passed(r.returncode, r.stdout)


# A worker shell runs one pamtester per line it reads (tab-separated: fake
# time, service, user, code), then prints "@@status N". As root it first mounts
# a private /tmp.
WORKER = r"""
[ -z "$PRIVATE_TMP" ] || mount -t tmpfs -o size=4m,mode=1777 tmpfs /tmp || exit 1
echo ready
while IFS='	' read -r faketime module user code; do
  printf '%s\n' "$code" | FAKETIME="$faketime" LD_PRELOAD="$BENCH_PRELOAD" \
    pamtester -I rhost=192.0.2.1 "$module" "$user" authenticate 2>&1
  echo "@@status $?"
done
"""


class Workers:
    """Long-lived shells for parallel logins. pam_wrapper 1.1.4 copies the service
    files into /tmp/pam.<one letter>, so pamtesters started at once collide on
    that name and fail before any module runs. As root each worker has its own
    /tmp (a mount namespace, set up once), so a login costs about what a
    sequential one does: a fork and an exec of pamtester."""

    def __init__(self, setup, count):
        self.private_tmp = os.geteuid() == 0 and shutil.which("unshare") is not None
        if not self.private_tmp:
            print("[pam-bench] not root: parallel logins share /tmp, so pam_wrapper collisions "
                  "count as failures for every module", file=sys.stderr)
        prefix = ["unshare", "--mount", "--propagation", "private"] if self.private_tmp else []
        env = dict(setup.env(), BENCH_PRELOAD=PRELOAD, PRIVATE_TMP="1" if self.private_tmp else "")
        self.shells = []
        for _ in range(count):
            sh = subprocess.Popen(prefix + ["sh", "-c", WORKER], env=env, text=True,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            self.shells.append(sh)
        for sh in self.shells:
            if sh.stdout.readline() != "ready\n":
                raise SystemExit("a login worker did not start")

    def login(self, k, module, i, at):
        """User i logs in through worker k; returns (seconds, ok, output)."""
        sh = self.shells[k]
        start = time.perf_counter()
        sh.stdin.write("%s\t%s\t%s\t%s\n" % (faketime(at), module, user(i), totp(secret(i), at)))
        sh.stdin.flush()
        output = []
        while True:
            line = sh.stdout.readline()
            if not line or line.startswith("@@status "):
                break
            output.append(line)
        elapsed = time.perf_counter() - start
        status = int(line.split()[1]) if line else -1
        output = "".join(output)
        return elapsed, passed(status, output.encode()), output.strip()

    def stop(self):
        for sh in self.shells:
            sh.stdin.close()
            sh.wait()


def faketime(at):
    return time.strftime("@%Y-%m-%d %H:%M:%S", time.gmtime(at))


def passed(status, output):
    return status == 0 and b"successfully authenticated" in output


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--module", required=True, help="built pam_planasonix .so")
    ap.add_argument("--cli", required=True, help="built planasonix binary")
    ap.add_argument("--out", required=True)
    ap.add_argument("--runs", type=int, default=100, help="sequential logins per module and size")
    ap.add_argument("--large", type=int, default=10_000)
    ap.add_argument("--bursts", type=int, default=10, help="bursts of 32 parallel logins")
    ap.add_argument("--postgres", help="built postgres_server example: adds pam_planasonix on PostgreSQL")
    a = ap.parse_args()
    modules = MODULES + ([PG_MODULE] if a.postgres else [])

    root = tempfile.mkdtemp(prefix="planasonix-pam-bench.", dir="/var/tmp")
    setups = {}
    stoppable = []
    try:
        result = {"runs": a.runs, "sequential": {}, "concurrent": {}}
        for n in (1, a.large):
            t = time.perf_counter()
            setups[n] = Setup(root, n, a.module, a.cli, a.postgres)
            print("[pam-bench] %d users set up in %.0f s" % (n, time.perf_counter() - t), file=sys.stderr)
        step = 0
        for n, s in setups.items():
            samples = {m: [] for m in modules}
            failures = {m: 0 for m in modules}
            for r in range(a.runs):
                step += 1
                # Interleaved so that drift in the machine's speed hits every module alike.
                for m in modules:
                    i = r % n if n == 1 else (r * 97) % n
                    # Each login starts with the disk quiet (see the bursts below).
                    os.sync()
                    secs, ok = s.login(m, i, T0 + 30 * step)
                    samples[m].append(secs * 1000)
                    failures[m] += 0 if ok else 1
            result["sequential"][str(n)] = {
                m: {"median_ms": statistics.median(samples[m]), "failures": failures[m]} for m in modules
            }
            print("[pam-bench] %d users: sequential logins done" % n, file=sys.stderr)
        s = setups[a.large]
        workers = Workers(s, 32)
        stoppable.append(workers)
        lat = {m: [] for m in modules}
        fails = {m: 0 for m in modules}
        first_failure = {m: None for m in modules}
        for b in range(a.bursts):
            for m in modules:
                step += 1
                at = T0 + 30 * step
                # Each burst starts with the disk quiet: the module before may
                # have left writes (pam_planasonix_direct writes sled snapshots)
                # that would otherwise be flushed under the next module's fsyncs.
                os.sync()
                def service(k, m=m):
                    return m + "_b" if m == PG_MODULE and k % 2 else m
                with concurrent.futures.ThreadPoolExecutor(32) as pool:
                    logins = pool.map(lambda k: workers.login(k, service(k), (b * 32 + k) % s.n, at), range(32))
                    for secs, ok, output in logins:
                        lat[m].append(secs * 1000)
                        if not ok:
                            fails[m] += 1
                            first_failure[m] = first_failure[m] or output[-300:]
        result["concurrent"] = {
            m: {"p50_ms": pct(lat[m], 50), "p99_ms": pct(lat[m], 99), "failures": fails[m], "logins": len(lat[m]),
                "private_tmp": workers.private_tmp, "first_failure": first_failure[m]}
            for m in modules
        }
        with open(a.out, "w") as f:
            json.dump(result, f, indent=2)
    finally:
        for s in stoppable + list(setups.values()):
            s.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
