//! A private, real PostgreSQL cluster per test, for the fleet store.
//!
//! [`Postgres::start`] runs the server binaries of the newest
//! `/usr/lib/postgresql/*/bin` as the `postgres` system user (the tests run
//! as root and `initdb` refuses root): a fresh cluster in a [`TempDir`], on a
//! free loopback port, with its Unix socket in the same temporary directory,
//! TLS by a server certificate a fresh test CA signed (CN 127.0.0.1, SAN
//! 127.0.0.1 and localhost), and a `planasonix` role (random password,
//! SCRAM) owning a `planasonix` database. Dropping it stops the server and
//! removes the directory (kept when the test failed, with the server log).
//!
//! Layout of the temporary directory (root, 0755):
//!
//! - `server/` (postgres, 0700): `data/` (the cluster), `server.crt`,
//!   `server.key` (postgres, 0600), `server.log`
//! - `socket/` (postgres, 0755): the Unix socket
//! - `tls/` (root, 0700): the CA keys and the openssl working files
//! - `ca.crt`, `other-ca.crt` (0644): the CA that signed the server
//!   certificate, and an unrelated one
//! - `password` (root, 0600): the password of `planasonix`, and a newline
//!
//! The servers are started with `pg_ctl`, which puts them in a session of
//! their own: a test process that dies without dropping its clusters would
//! leave them running. So every cluster still running when the test process
//! exits is stopped from an `atexit` hook (clusters held in statics are
//! never dropped), and the first start in a process stops the clusters of
//! test processes that are gone (killed runs).
// The unsafe calls: libc::kill (freeze, thaw) and libc::atexit (test code
// only).
#![allow(unsafe_code)]

use crate::TempDir;
use std::fmt::Write as _;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, Once, OnceLock};
use std::time::{Duration, Instant};

const MISSING: &str = "PostgreSQL server binaries are required (apt install postgresql)";
const DATABASE: &str = "planasonix";
const USER: &str = "planasonix";
const HOST: &str = "127.0.0.1";
/// How long a start (or restart) may take before the test fails.
const READY_WITHIN: Duration = Duration::from_secs(30);
/// How often `start` tries another port when the one it picked was taken
/// between picking and the server binding it.
const PORT_ATTEMPTS: usize = 5;

/// Whether the server offers TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tls {
    /// `ssl = on`: clients may use TLS or not (`host` lines in pg_hba).
    On,
    /// `ssl = off`: a client that requires TLS is refused.
    Off,
}

/// Where the server binaries are and who runs them.
#[derive(Debug)]
struct Install {
    bin: PathBuf,
    uid: u32,
    gid: u32,
}

/// The newest `/usr/lib/postgresql/<version>/bin` that has the server
/// binaries.
fn find_bin_dir() -> Option<PathBuf> {
    let mut found: Vec<(Vec<u32>, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| {
            let e = e.ok()?;
            let version = e
                .file_name()
                .to_str()?
                .split('.')
                .map(|p| p.parse::<u32>().ok())
                .collect::<Option<Vec<u32>>>()?;
            let bin = e.path().join("bin");
            ["initdb", "pg_ctl", "postgres"]
                .iter()
                .all(|b| bin.join(b).is_file())
                .then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

/// The uid and gid of the `postgres` system user.
fn postgres_ids() -> Option<(u32, u32)> {
    let entry = crate::accounts::passwd_entry("postgres")?;
    let mut fields = entry.split(':').skip(2);
    Some((fields.next()?.parse().ok()?, fields.next()?.parse().ok()?))
}

fn openssl_present() -> bool {
    Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Whether [`Postgres::start`] can work here: the server binaries, the
/// `postgres` user and the `openssl` CLI are present.
pub fn available() -> bool {
    find_bin_dir().is_some() && postgres_ids().is_some() && openssl_present()
}

static INSTALL: OnceLock<Install> = OnceLock::new();

fn install() -> &'static Install {
    INSTALL.get_or_init(|| {
        let bin = find_bin_dir().unwrap_or_else(|| panic!("{MISSING}"));
        let (uid, gid) = postgres_ids()
            .unwrap_or_else(|| panic!("{MISSING}: there is no `postgres` system user"));
        assert!(
            openssl_present(),
            "the openssl CLI is required (apt install openssl)"
        );
        Install { bin, uid, gid }
    })
}

impl Install {
    /// The client binary of the same version, else whatever `psql` is on
    /// the PATH.
    fn psql(&self) -> PathBuf {
        let own = self.bin.join("psql");
        if own.is_file() {
            own
        } else {
            PathBuf::from("psql")
        }
    }

    /// A command of the server installation, run as `postgres` in `cwd`,
    /// with a clean environment (nothing of the test's, LD_PRELOAD above
    /// all, reaches the server).
    fn server_command(&self, program: &str, cwd: &Path) -> Command {
        let mut cmd = Command::new(self.bin.join(program));
        cmd.uid(self.uid)
            .gid(self.gid)
            .current_dir(cwd)
            .env_clear()
            .env("PATH", format!("{}:/usr/bin:/bin", self.bin.display()))
            .env("LC_ALL", "C")
            .stdin(Stdio::null());
        cmd
    }
}

/// One private PostgreSQL cluster; see the module documentation. Dropping it
/// stops the server (`pg_ctl stop -m immediate`, after thawing it) and
/// removes its directory.
#[derive(Debug)]
pub struct Postgres {
    install: &'static Install,
    port: u16,
    password: String,
    server_dir: PathBuf,
    data_dir: PathBuf,
    socket_dir: PathBuf,
    log_file: PathBuf,
    password_file: PathBuf,
    ca_file: PathBuf,
    other_ca_file: PathBuf,
    /// The processes [`Postgres::freeze`] stopped, for `thaw` and drop.
    frozen: Mutex<Vec<u32>>,
    /// Last, so that it is removed after `drop` stopped the server.
    _dir: TempDir,
}

impl Postgres {
    /// Creates, configures and starts a fresh cluster, with role and
    /// database `planasonix`; returns when it accepts connections (panics
    /// with the server log if it does not within 30 s).
    pub fn start(tls: Tls) -> Postgres {
        Postgres::start_with(tls, false)
    }

    /// [`Postgres::start`] with PostgreSQL's durable defaults (fsync,
    /// synchronous commit, full page writes), for the benchmark: a fleet's
    /// figures must include what a real server pays per commit.
    pub fn start_durable(tls: Tls) -> Postgres {
        Postgres::start_with(tls, true)
    }

    fn start_with(tls: Tls, durable: bool) -> Postgres {
        let install = install();
        sweep_stale(install);
        let dir = TempDir::new("pg");
        let root = dir.path().to_owned();
        let mkdir = |name: &str, mode: u32, postgres: bool| {
            let path = root.join(name);
            fs::create_dir(&path).unwrap_or_else(|e| panic!("mkdir {}: {e}", path.display()));
            fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
            if postgres {
                std::os::unix::fs::chown(&path, Some(install.uid), Some(install.gid)).unwrap();
            }
            path
        };
        let server_dir = mkdir("server", 0o700, true);
        let socket_dir = mkdir("socket", 0o755, true);
        let tls_dir = mkdir("tls", 0o700, false);

        // Certificates: the CA, an unrelated one, the server's.
        let ca_file = root.join("ca.crt");
        let other_ca_file = root.join("other-ca.crt");
        crate::tls::make_ca(&tls_dir, "ca", "Planasonix test CA", &ca_file);
        crate::tls::make_ca(
            &tls_dir,
            "other-ca",
            "Planasonix unrelated test CA",
            &other_ca_file,
        );
        make_server_cert(&tls_dir, &ca_file, &server_dir, install);

        let password = crate::tls::hex(&crate::tls::random_bytes(16));
        let password_file = root.join("password");
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&password_file)
            .and_then(|mut f| f.write_all(format!("{password}\n").as_bytes()))
            .unwrap_or_else(|e| panic!("writing {}: {e}", password_file.display()));

        let data_dir = server_dir.join("data");
        let initdb = install
            .server_command("initdb", &server_dir)
            .arg("-D")
            .arg(&data_dir)
            .args([
                "-U",
                "postgres",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
            ])
            .output()
            .unwrap_or_else(|e| panic!("cannot run initdb: {e}"));
        check(&initdb, "initdb", None);
        fs::write(
            data_dir.join("pg_hba.conf"),
            "local all postgres trust\nhost all all 127.0.0.1/32 scram-sha-256\n",
        )
        .unwrap();
        let mut conf = OpenOptions::new()
            .append(true)
            .open(data_dir.join("postgresql.conf"))
            .unwrap();
        conf.write_all(b"\ninclude 'planasonix.conf'\n").unwrap();

        let mut pg = Postgres {
            install,
            port: 0,
            password,
            log_file: server_dir.join("server.log"),
            server_dir,
            data_dir,
            socket_dir,
            password_file,
            ca_file,
            other_ca_file,
            frozen: Mutex::new(Vec::new()),
            _dir: dir,
        };
        // The port is free when picked but may be taken before the server
        // binds it (by another test's server, say): then try another.
        for attempt in 1..=PORT_ATTEMPTS {
            pg.port = free_port();
            pg.write_conf(tls, durable);
            let out = pg.pg_ctl_start();
            if out.status.success() {
                break;
            }
            let log = pg.log();
            if attempt == PORT_ATTEMPTS || !log.contains("could not bind") {
                check(&out, "pg_ctl start", Some(&log));
            }
        }
        register(&pg.data_dir);
        pg.wait_ready();
        pg.psql_on(
            "postgres",
            &format!(
                "CREATE ROLE {USER} LOGIN PASSWORD '{}';\nCREATE DATABASE {DATABASE} OWNER {USER};\n",
                pg.password
            ),
        );
        pg
    }

    /// `127.0.0.1`, the only address the server listens on.
    pub fn host(&self) -> &str {
        HOST
    }

    /// The TCP port (also the number in the socket's name).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The directory of the server's Unix socket (`.s.PGSQL.<port>`).
    pub fn socket_dir(&self) -> &Path {
        &self.socket_dir
    }

    /// `planasonix`.
    pub fn database(&self) -> &str {
        DATABASE
    }

    /// `planasonix`: owns the database, not a superuser.
    pub fn user(&self) -> &str {
        USER
    }

    /// The password of [`Postgres::user`] (32 hex digits).
    pub fn password(&self) -> &str {
        &self.password
    }

    /// A file holding the password and a newline (root, 0600).
    pub fn password_file(&self) -> &Path {
        &self.password_file
    }

    /// The test CA certificate (PEM) that signed the server certificate.
    pub fn ca_file(&self) -> &Path {
        &self.ca_file
    }

    /// A second, unrelated CA certificate (PEM), for wrong-CA tests.
    pub fn other_ca_file(&self) -> &Path {
        &self.other_ca_file
    }

    /// The cluster's data directory (the postmaster's `-D`).
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The server log so far.
    pub fn log(&self) -> String {
        fs::read(&self.log_file)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_else(|e| format!("(no server log at {}: {e})", self.log_file.display()))
    }

    /// The postmaster and every process it started (its backends and
    /// auxiliary processes), empty when the server is not running.
    pub fn processes(&self) -> Vec<u32> {
        match postmaster_pid(&self.data_dir) {
            Some(pid) => {
                let mut all = vec![pid];
                all.extend(children_of(pid));
                all
            }
            None => Vec::new(),
        }
    }

    /// Stops the server (`pg_ctl stop -m fast`), waiting until it is down.
    /// A frozen server is thawed first.
    pub fn stop(&self) {
        self.thaw();
        let out = self.pg_ctl(&["stop", "-m", "fast"]);
        check(&out, "pg_ctl stop", Some(&self.log()));
    }

    /// Starts the server again on the same directory and port, returning
    /// when it accepts connections.
    pub fn start_again(&self) {
        let out = self.pg_ctl_start();
        check(&out, "pg_ctl start", Some(&self.log()));
        register(&self.data_dir);
        self.wait_ready();
    }

    /// Stops (SIGSTOP) the postmaster and every process it started: the
    /// server still accepts TCP connections into its listen queue but
    /// answers nothing, like a hung host.
    pub fn freeze(&self) {
        let mut frozen = self.frozen.lock().unwrap_or_else(|e| e.into_inner());
        let Some(pid) = postmaster_pid(&self.data_dir) else {
            panic!("freeze: the server is not running");
        };
        // The postmaster first, so that it starts no new process meanwhile.
        signal(pid, libc::SIGSTOP);
        frozen.push(pid);
        for child in children_of(pid) {
            signal(child, libc::SIGSTOP);
            frozen.push(child);
        }
    }

    /// Continues (SIGCONT) what [`Postgres::freeze`] stopped.
    pub fn thaw(&self) {
        let mut frozen = self.frozen.lock().unwrap_or_else(|e| e.into_inner());
        for pid in frozen.drain(..) {
            signal(pid, libc::SIGCONT);
        }
    }

    /// Runs `sql` (statements separated as in a psql script) as the
    /// superuser `postgres` over the Unix socket on database `planasonix`,
    /// `-v ON_ERROR_STOP=1 -At`; returns what it printed without the
    /// trailing newline, panics with psql's stderr if it fails.
    pub fn psql(&self, sql: &str) -> String {
        self.psql_on(DATABASE, sql)
    }

    /// The text of a store file that points at this server as `planasonix`
    /// with the given `sslmode` and [`Postgres::ca_file`].
    pub fn store_toml(&self, sslmode: &str) -> String {
        format!(
            "kind = \"postgresql\"\n\
             \n\
             [postgresql]\n\
             hosts = [\"{HOST}\"]\n\
             port = {}\n\
             database = \"{DATABASE}\"\n\
             user = \"{USER}\"\n\
             password_file = \"{}\"\n\
             sslmode = \"{sslmode}\"\n\
             ca_file = \"{}\"\n",
            self.port,
            self.password_file.display(),
            self.ca_file.display(),
        )
    }

    /// The text of a store file that reaches this server over its unix
    /// socket (`sslmode = "disable"`), trusting `owner` as the server's OS
    /// user.
    pub fn socket_store_toml(&self, owner: &str) -> String {
        format!(
            "kind = \"postgresql\"\n\
             \n\
             [postgresql]\n\
             hosts = [\"{}\"]\n\
             port = {}\n\
             database = \"{DATABASE}\"\n\
             user = \"{USER}\"\n\
             password_file = \"{}\"\n\
             sslmode = \"disable\"\n\
             socket_owner = \"{owner}\"\n",
            self.socket_dir.display(),
            self.port,
            self.password_file.display(),
        )
    }

    /// Replaces how clients other than psql's `postgres` authenticate
    /// (pg_hba.conf lines after `local all postgres trust`), and reloads.
    pub fn set_hba(&self, lines: &str) {
        fs::write(
            self.data_dir.join("pg_hba.conf"),
            format!("local all postgres trust\n{lines}"),
        )
        .unwrap();
        self.psql_on("postgres", "SELECT pg_reload_conf();");
        // The postmaster rereads the file on the signal; give it a moment.
        std::thread::sleep(Duration::from_millis(300));
    }

    /// Creates another, empty database `name` owned by `planasonix`.
    pub fn fresh_database(&self, name: &str) {
        self.psql_on(
            "postgres",
            &format!(
                "CREATE DATABASE \"{}\" OWNER {USER};",
                name.replace('"', "\"\"")
            ),
        );
    }

    fn psql_on(&self, database: &str, sql: &str) -> String {
        let mut child = Command::new(self.install.psql())
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("PGCONNECT_TIMEOUT", "30")
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", "-h"])
            .arg(&self.socket_dir)
            .args([
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-d",
                database,
                "-f",
                "-",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run psql: {e}"));
        child
            .stdin
            .take()
            .unwrap()
            .write_all(sql.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "psql on {database} failed ({}) for:\n{sql}\nstderr:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let mut stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        while stdout.ends_with('\n') {
            stdout.pop();
        }
        stdout
    }

    fn pg_ctl(&self, args: &[&str]) -> Output {
        self.install
            .server_command("pg_ctl", &self.server_dir)
            .arg("-D")
            .arg(&self.data_dir)
            .args(["-w", "-t", &READY_WITHIN.as_secs().to_string()])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run pg_ctl: {e}"))
    }

    fn pg_ctl_start(&self) -> Output {
        let log = self.log_file.to_str().unwrap().to_owned();
        self.pg_ctl(&["-l", &log, "start"])
    }

    /// Our settings, in a file postgresql.conf includes (so a kept cluster
    /// can be started by hand as the test ran it).
    fn write_conf(&self, tls: Tls, durable: bool) {
        let quote = |p: &Path| format!("'{}'", p.display().to_string().replace('\'', "''"));
        let mut conf = String::new();
        let _ = write!(
            conf,
            "listen_addresses = '{HOST}'\n\
             port = {}\n\
             unix_socket_directories = {}\n\
             ssl = {}\n\
             ssl_cert_file = {}\n\
             ssl_key_file = {}\n\
             password_encryption = 'scram-sha-256'\n\
             {}\
             shared_buffers = 32MB\n\
             dynamic_shared_memory_type = mmap\n\
             log_line_prefix = '%m [%p] %q%u@%d '\n",
            self.port,
            quote(&self.socket_dir),
            if tls == Tls::On { "on" } else { "off" },
            quote(&self.server_dir.join("server.crt")),
            quote(&self.server_dir.join("server.key")),
            if durable {
                "# Durable, as a real server runs.\n"
            } else {
                "# A test cluster: speed over durability against OS crashes.\n\
                 fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
            },
        );
        fs::write(self.data_dir.join("planasonix.conf"), conf).unwrap();
    }

    /// Waits until the server answers a query over its socket.
    fn wait_ready(&self) {
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            let out = Command::new(self.install.psql())
                .env_clear()
                .env("PGCONNECT_TIMEOUT", "5")
                .args(["-X", "-At", "-h"])
                .arg(&self.socket_dir)
                .args([
                    "-p",
                    &self.port.to_string(),
                    "-U",
                    "postgres",
                    "-d",
                    "postgres",
                ])
                .args(["-c", "select 1"])
                .stdin(Stdio::null())
                .output()
                .unwrap_or_else(|e| panic!("cannot run psql: {e}"));
            if out.status.success() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "PostgreSQL in {} did not accept connections within {READY_WITHIN:?}; psql: {}\nserver log:\n{}",
                self.data_dir.display(),
                String::from_utf8_lossy(&out.stderr),
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.thaw();
        stop_immediately(self.install, &self.data_dir);
        unregister(&self.data_dir);
        if std::thread::panicking() {
            #[allow(clippy::print_stderr)]
            {
                eprintln!(
                    "PostgreSQL server log ({}):\n{}",
                    self.log_file.display(),
                    self.log()
                );
            }
        }
    }
}

/// `pg_ctl stop -m immediate` (thawing the server first), ignoring that it
/// is not running; returns when its processes are gone (or after 10 s).
fn stop_immediately(install: &Install, data_dir: &Path) {
    let mut processes = Vec::new();
    if let Some(pid) = postmaster_pid(data_dir) {
        processes.push(pid);
        processes.extend(children_of(pid));
    }
    for &pid in &processes {
        signal(pid, libc::SIGCONT);
    }
    if data_dir.join("postmaster.pid").exists() {
        let cwd = data_dir.parent().unwrap_or(Path::new("/"));
        let _ = install
            .server_command("pg_ctl", cwd)
            .arg("-D")
            .arg(data_dir)
            .args(["-w", "-t", "30", "stop", "-m", "immediate"])
            .output();
    }
    // pg_ctl returns when the pid file is gone, a moment before the
    // postmaster (and, immediate shutdown, perhaps a backend) exits.
    let deadline = Instant::now() + Duration::from_secs(10);
    while processes.iter().any(|&p| alive(p)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
}

// ---- Clusters left running ----

/// The data directories of the clusters this process started and has not
/// stopped for good, for the atexit hook.
static RUNNING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn register(data_dir: &Path) {
    static AT_EXIT: Once = Once::new();
    AT_EXIT.call_once(|| {
        // SAFETY: registers a plain extern "C" function without arguments;
        // it touches only our own statics and spawns pg_ctl.
        let _ = unsafe { libc::atexit(stop_all_at_exit) };
    });
    let mut running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
    if !running.iter().any(|d| d == data_dir) {
        running.push(data_dir.to_owned());
    }
}

fn unregister(data_dir: &Path) {
    RUNNING
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|d| d != data_dir);
}

extern "C" fn stop_all_at_exit() {
    let Some(install) = INSTALL.get() else {
        return;
    };
    let dirs = match RUNNING.try_lock() {
        Ok(mut running) => std::mem::take(&mut *running),
        Err(_) => return,
    };
    for dir in dirs {
        stop_immediately(install, &dir);
    }
}

/// Stops the clusters of test processes that are gone (killed before they
/// could drop them); once per process. Their directories are left for
/// inspection.
fn sweep_stale(install: &'static Install) {
    static SWEEP: Once = Once::new();
    SWEEP.call_once(|| {
        let prefix = std::env::temp_dir().join("planasonix-pg-");
        let prefix = prefix.to_string_lossy().into_owned();
        for (_, data_dir) in postmasters() {
            let path = data_dir.to_string_lossy().into_owned();
            let Some(rest) = path.strip_prefix(&prefix) else {
                continue;
            };
            let Some(Ok(owner)) = rest.split('-').next().map(str::parse::<u32>) else {
                continue;
            };
            if owner != std::process::id() && !alive(owner) {
                stop_immediately(install, &data_dir);
            }
        }
    });
}

// ---- /proc ----

fn postmaster_pid(data_dir: &Path) -> Option<u32> {
    let text = fs::read_to_string(data_dir.join("postmaster.pid")).ok()?;
    let pid: u32 = text.lines().next()?.trim().parse().ok()?;
    alive(pid).then_some(pid)
}

/// The `stat` fields of `pid` after the command name: state, ppid, ...
fn stat(pid: u32) -> Option<Vec<String>> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

/// Exists and is not a zombie.
fn alive(pid: u32) -> bool {
    stat(pid).is_some_and(|f| f.first().is_some_and(|s| s != "Z"))
}

fn pids() -> Vec<u32> {
    fs::read_dir("/proc")
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// The live processes whose parent is `ppid`.
fn children_of(ppid: u32) -> Vec<u32> {
    let ppid = ppid.to_string();
    pids()
        .into_iter()
        .filter(|&pid| {
            stat(pid)
                .is_some_and(|f| f.first().is_some_and(|s| s != "Z") && f.get(1) == Some(&ppid))
        })
        .collect()
}

/// Every running postmaster with its `-D` directory.
fn postmasters() -> Vec<(u32, PathBuf)> {
    pids()
        .into_iter()
        .filter_map(|pid| {
            let raw = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let args: Vec<&[u8]> = raw.split(|&b| b == 0).collect();
            let program = String::from_utf8_lossy(args.first()?);
            if !(program == "postgres" || program.ends_with("/postgres")) {
                return None;
            }
            let at = args.iter().position(|a| *a == b"-D")?;
            let dir = String::from_utf8_lossy(args.get(at + 1)?).into_owned();
            Some((pid, PathBuf::from(dir)))
        })
        .collect()
}

fn signal(pid: u32, sig: libc::c_int) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    // SAFETY: kill(2) takes plain integers and touches no memory of ours.
    let _ = unsafe { libc::kill(pid, sig) };
}

// ---- Helpers ----

fn free_port() -> u16 {
    std::net::TcpListener::bind((HOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("cannot pick a free loopback port: {e}"))
}

/// Panics with the command's output (and the server log) unless it
/// succeeded.
fn check(out: &Output, what: &str, log: Option<&str>) {
    assert!(
        out.status.success(),
        "{what} failed ({}):\nstdout:\n{}\nstderr:\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        log.map(|l| format!("\nserver log:\n{l}"))
            .unwrap_or_default()
    );
}

/// The server's key and certificate signed by the test CA (see
/// [`crate::tls`]), into `server_dir`, owned by postgres.
fn make_server_cert(tls_dir: &Path, ca_cert: &Path, server_dir: &Path, install: &Install) {
    crate::tls::make_server_cert(tls_dir, ca_cert, server_dir);
    for name in ["server.crt", "server.key"] {
        std::os::unix::fs::chown(server_dir.join(name), Some(install.uid), Some(install.gid))
            .unwrap();
    }
}
