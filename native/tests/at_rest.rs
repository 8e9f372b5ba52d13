//! What lands on disk: no secret in the sled files; the key file guarded.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use planasonix_core::otpauth::parse_base32;
use planasonix_core::*;
use planasonix_native::trusted_file::{Broken, TrustedFileError};
use planasonix_native::{load_key_file, KeyFileError, SledStore};
use planasonix_testkit::{code_at, ctx, Outbox, TempDir, T0};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn all_bytes(dir: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(all_bytes(&path));
        } else {
            out.extend(std::fs::read(&path).unwrap());
        }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn secrets_and_phone_numbers_never_reach_the_sled_files() {
    let dir = TempDir::new("at-rest");
    let db = dir.join("db");
    let policy =
        Policy::from_toml("[sms]\nenabled = true\nallowed_prefixes = [\"+44\"]\n").unwrap();
    let key = SealKey::generate(&mut SeededRandom::new(8)).unwrap();
    let outbox = Outbox::default();
    let (secret, codes) = {
        let store = SledStore::open(&db).unwrap();
        let e = Engine::new(&policy, &key, &store).with_delivery(&outbox);
        let mut rng = SeededRandom::new(77);
        let pending = e.begin_totp("alice", T0, &mut rng).unwrap();
        let secret = pending.secret_base32.expose().to_owned();
        let done = e
            .confirm_totp("alice", code_at(&secret, T0).as_bytes(), T0, &mut rng)
            .unwrap();
        e.begin_sms("alice", "+447700900123", T0, &mut rng).unwrap();
        e.confirm_sms("alice", outbox.last_code().as_bytes(), T0, &mut rng)
            .unwrap();
        e.verify(
            "alice",
            b"sms",
            &ctx(),
            T0.plus(std::time::Duration::from_secs(60)),
            &mut rng,
        )
        .unwrap();
        store.flush().unwrap();
        (
            secret,
            done.recovery_codes
                .iter()
                .map(|c| c.expose().replace('-', ""))
                .collect::<Vec<_>>(),
        )
    };
    let bytes = all_bytes(&db);
    assert!(
        contains(&bytes, b"user/alice"),
        "the scan must see the database content"
    );
    let raw = parse_base32(&secret).unwrap();
    assert!(!contains(&bytes, &raw), "raw TOTP secret on disk");
    assert!(
        !contains(&bytes, secret.as_bytes()),
        "base32 TOTP secret on disk"
    );
    assert!(!contains(&bytes, b"7700900123"), "phone number on disk");
    assert!(
        !contains(&bytes, outbox.last_code().as_bytes()),
        "SMS code on disk"
    );
    for code in codes {
        assert!(!contains(&bytes, code.as_bytes()), "recovery code on disk");
    }
}

#[test]
fn key_file_must_be_private_present_and_well_formed() {
    let dir = TempDir::new("keyfile");
    let path = dir.join("seal.key");
    assert!(matches!(
        load_key_file(&path),
        Err(KeyFileError::File(TrustedFileError::Missing { .. }))
    ));

    let key = SealKey::generate(&mut SeededRandom::new(1)).unwrap();
    std::fs::write(&path, key.to_key_text().expose()).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = load_key_file(&path).unwrap_err();
    assert!(
        matches!(
            err,
            KeyFileError::File(TrustedFileError::Untrusted {
                broken: Broken::Mode(0o644),
                ..
            })
        ),
        "{err}"
    );
    assert!(err.to_string().contains("chmod 600"), "{err}");

    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let loaded = load_key_file(&path).unwrap();
    let sealed = key.seal(&mut SeededRandom::new(2), "c", b"x").unwrap();
    assert_eq!(loaded.open("c", &sealed).unwrap().expose(), b"x");
    assert!(!format!("{loaded:?}").contains(&key.to_key_text().expose()[23..40]));

    std::fs::write(&path, "planasonix-seal-key-v1 not-base64!\n").unwrap();
    let err = load_key_file(&path).unwrap_err();
    assert!(matches!(err, KeyFileError::Malformed(..)), "{err}");
    assert!(matches!(
        load_key_file(dir.path()),
        Err(KeyFileError::File(
            TrustedFileError::Untrusted {
                broken: Broken::NotRegular,
                ..
            } | TrustedFileError::Unreadable { .. }
        ))
    ));
}
