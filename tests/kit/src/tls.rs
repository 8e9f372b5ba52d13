//! Test certificates made with the openssl CLI: a CA, an unrelated CA, and a
//! server certificate for 127.0.0.1 and localhost signed by the first (all
//! P-256, valid 7 days). For the private PostgreSQL clusters and the fake
//! SMS gateway; nothing depends on the system's openssl.cnf.

use crate::TempDir;
use std::fmt::Write as _;
use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// openssl's configuration for both CAs and the server certificate.
const OPENSSL_CNF: &str = "\
[req]
distinguished_name = dn
prompt = no

[dn]
CN = unused

[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash

[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
";

const EC_KEY: [&str; 4] = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"];

/// `n` bytes from the kernel's random source.
pub(crate) fn random_bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0; n];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .unwrap_or_else(|e| panic!("reading /dev/urandom: {e}"));
    buf
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn openssl(tls_dir: &Path, args: &[&str]) {
    let cnf = tls_dir.join("openssl.cnf");
    if !cnf.exists() {
        fs::write(&cnf, OPENSSL_CNF).unwrap();
    }
    let out = Command::new("openssl")
        .args(args)
        .current_dir(tls_dir)
        .env("OPENSSL_CONF", &cnf)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run openssl (apt install openssl): {e}"));
    assert!(
        out.status.success(),
        "openssl {} failed:\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A self-signed CA as `<name>.key` in `tls_dir`, its certificate copied to
/// `cert` (0644).
pub fn make_ca(tls_dir: &Path, name: &str, cn: &str, cert: &Path) {
    let key = format!("{name}.key");
    let crt = format!("{name}.crt");
    let subject = format!("/CN={cn}");
    let mut args = vec![
        "req",
        "-x509",
        "-config",
        "openssl.cnf",
        "-extensions",
        "ca",
    ];
    args.extend(EC_KEY);
    args.extend([
        "-nodes", "-keyout", &key, "-out", &crt, "-days", "7", "-subj", &subject,
    ]);
    openssl(tls_dir, &args);
    fs::copy(tls_dir.join(&crt), cert).unwrap();
    fs::set_permissions(cert, fs::Permissions::from_mode(0o644)).unwrap();
}

/// A server key and certificate (CN and SAN 127.0.0.1, SAN localhost)
/// signed by the CA `ca.key` / `ca_cert` of `tls_dir`, as `server.crt`
/// (0644) and `server.key` (0600) in `out_dir`.
pub fn make_server_cert(tls_dir: &Path, ca_cert: &Path, out_dir: &Path) {
    let mut args = vec!["req", "-new", "-config", "openssl.cnf"];
    args.extend(EC_KEY);
    args.extend([
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    openssl(tls_dir, &args);
    let serial = format!("0x{}", hex(&random_bytes(16)));
    let ca_cert = ca_cert.to_str().unwrap();
    openssl(
        tls_dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            ca_cert,
            "-CAkey",
            "ca.key",
            "-set_serial",
            &serial,
            "-days",
            "7",
            "-extfile",
            "openssl.cnf",
            "-extensions",
            "server",
            "-out",
            "server.crt",
        ],
    );
    for (name, mode) in [("server.crt", 0o644), ("server.key", 0o600)] {
        let to = out_dir.join(name);
        fs::copy(tls_dir.join(name), &to).unwrap();
        fs::set_permissions(&to, fs::Permissions::from_mode(mode)).unwrap();
    }
}

/// A CA, an unrelated CA, and a server certificate from the first, in a
/// temporary directory removed on drop.
#[derive(Debug)]
pub struct TestTls {
    /// The CA's certificate (PEM).
    pub ca: PathBuf,
    /// A CA that signed nothing here.
    pub other_ca: PathBuf,
    /// The server's certificate (PEM), for 127.0.0.1 and localhost.
    pub cert: PathBuf,
    /// The server's private key (PEM).
    pub key: PathBuf,
    _dir: TempDir,
}

impl TestTls {
    /// Makes the three.
    pub fn new() -> TestTls {
        let dir = TempDir::new("tls");
        let work = dir.join("work");
        fs::create_dir(&work).unwrap();
        let ca = dir.join("ca.crt");
        let other_ca = dir.join("other-ca.crt");
        make_ca(&work, "ca", "Planasonix test CA", &ca);
        make_ca(&work, "other-ca", "Planasonix unrelated test CA", &other_ca);
        make_server_cert(&work, &ca, dir.path());
        TestTls {
            ca,
            other_ca,
            cert: dir.join("server.crt"),
            key: dir.join("server.key"),
            _dir: dir,
        }
    }
}

impl Default for TestTls {
    fn default() -> TestTls {
        TestTls::new()
    }
}
