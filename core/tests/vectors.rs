//! Published HOTP/TOTP test vectors, each also tampered with.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use planasonix_core::hotp::{hotp, totp, Algorithm};
use planasonix_core::*;

struct Vector {
    algorithm: Algorithm,
    secret: Vec<u8>,
    moment: u64,
    digits: u32,
    code: String,
}

fn load(text: &str) -> Vec<Vector> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(f.len(), 5, "malformed vector line {l:?}");
            Vector {
                algorithm: match f[0] {
                    "SHA1" => Algorithm::Sha1,
                    "SHA256" => Algorithm::Sha256,
                    "SHA512" => Algorithm::Sha512,
                    other => panic!("unknown algorithm {other}"),
                },
                secret: f[1].as_bytes().to_vec(),
                moment: f[2].parse().unwrap(),
                digits: f[3].parse().unwrap(),
                code: f[4].to_owned(),
            }
        })
        .collect()
}

/// The code with its last digit changed.
fn tampered(code: &str) -> String {
    let mut b = code.as_bytes().to_vec();
    let last = b.len() - 1;
    b[last] = b'0' + (b[last] - b'0' + 1) % 10;
    String::from_utf8(b).unwrap()
}

#[test]
fn rfc4226_hotp_vectors() {
    let vectors = load(include_str!("vectors/rfc4226.txt"));
    assert_eq!(vectors.len(), 10);
    for v in vectors {
        assert_eq!(
            hotp(v.algorithm, &v.secret, v.moment, v.digits),
            v.code,
            "counter {}",
            v.moment
        );
        assert_ne!(
            hotp(v.algorithm, &v.secret, v.moment, v.digits),
            tampered(&v.code)
        );
        assert_ne!(hotp(v.algorithm, &v.secret, v.moment + 1, v.digits), v.code);
    }
}

#[test]
fn rfc6238_totp_vectors_through_the_engine() {
    let vectors = load(include_str!("vectors/rfc6238.txt"));
    assert_eq!(vectors.len(), 18);
    for v in vectors {
        assert_eq!(totp(v.algorithm, &v.secret, v.moment, 30, v.digits), v.code);
        let params = TotpParams {
            algorithm: v.algorithm,
            digits: v.digits,
            period: 30,
        };
        let now = UnixTime(v.moment);
        let mut rng = SeededRandom::new(v.moment);
        for (input, accept) in [(v.code.clone(), true), (tampered(&v.code), false)] {
            let f = crate::common::Fixture::new("[totp]\nskew = 0\n");
            let e = f.engine();
            e.provision_totp(
                "alice",
                &SecretBytes::new(v.secret.clone()),
                params,
                now,
                &mut rng,
            )
            .unwrap();
            let out = e
                .verify(
                    "alice",
                    input.as_bytes(),
                    &crate::common::ctx(),
                    now,
                    &mut rng,
                )
                .unwrap();
            assert_eq!(
                matches!(
                    out,
                    Verification::Accepted {
                        factor: Factor::Totp,
                        ..
                    }
                ),
                accept,
                "{} at {}: {input} gave {out:?}",
                v.algorithm,
                v.moment
            );
        }
    }
}
