//! Our codes agree with an independent implementation (`oathtool`, OATH Toolkit).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use planasonix_core::hotp::{totp, Algorithm};
use planasonix_core::otpauth::secret_base32;
use planasonix_core::random::{Random, SeededRandom};
use std::process::Command;

fn oathtool(
    algorithm: Algorithm,
    secret_b32: &str,
    moment: u64,
    period: u64,
    digits: u32,
) -> String {
    let out = Command::new("oathtool")
        .arg(format!("--totp={}", algorithm.name()))
        .args([
            "-b",
            secret_b32,
            "-d",
            &digits.to_string(),
            "-s",
            &format!("{period}s"),
        ])
        .arg(format!("--now=@{moment}"))
        .output()
        .expect("oathtool is required for this test: apt-get install oathtool");
    assert!(
        out.status.success(),
        "oathtool failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn agrees_with_oathtool_on_random_secrets_and_times() {
    let mut rng = SeededRandom::new(2026);
    let algorithms = [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512];
    for i in 0..120u64 {
        let algorithm = algorithms[(i % 3) as usize];
        let mut secret = vec![0u8; [20, 32, 64][(i % 3) as usize]];
        rng.fill(&mut secret).unwrap();
        let mut t = [0u8; 8];
        rng.fill(&mut t).unwrap();
        let moment = u64::from_le_bytes(t) % 4_000_000_000;
        let digits = if i % 2 == 0 { 6 } else { 8 };
        let period = if i % 5 == 0 { 60 } else { 30 };
        let b32 = secret_base32(&secret);
        assert_eq!(
            totp(algorithm, &secret, moment, period, digits),
            oathtool(algorithm, b32.expose(), moment, period, digits),
            "{algorithm} digits={digits} period={period} t={moment}"
        );
    }
}
