//! The QR codes a person scans decode (with `zbarimg`) to the enrollment URI.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common::{Fixture, T0};
use planasonix_core::*;
use std::process::Command;

/// Writes a bitmap (true = dark) as a scaled PBM with a white border and decodes it.
fn zbar(bitmap: &[Vec<bool>], tag: &str) -> String {
    const SCALE: usize = 4;
    const BORDER: usize = 4;
    let h = bitmap.len();
    let w = bitmap.iter().map(Vec::len).max().unwrap();
    let (pw, ph) = ((w + 2 * BORDER) * SCALE, (h + 2 * BORDER) * SCALE);
    let mut pbm = format!("P1\n{pw} {ph}\n");
    for py in 0..ph {
        let row: Vec<&str> = (0..pw)
            .map(|px| {
                let (x, y) = (
                    (px / SCALE).wrapping_sub(BORDER),
                    (py / SCALE).wrapping_sub(BORDER),
                );
                let dark = bitmap
                    .get(y)
                    .and_then(|r| r.get(x))
                    .copied()
                    .unwrap_or(false);
                if dark {
                    "1"
                } else {
                    "0"
                }
            })
            .collect();
        pbm.push_str(&row.join(" "));
        pbm.push('\n');
    }
    let path = std::env::temp_dir().join(format!("planasonix-qr-{tag}-{}.pbm", std::process::id()));
    std::fs::write(&path, pbm).unwrap();
    let out = Command::new("zbarimg")
        .args(["--quiet", "--raw"])
        .arg(&path)
        .output()
        .expect("zbarimg is required for this test: apt-get install zbar-tools");
    let _ = std::fs::remove_file(&path);
    assert!(
        out.status.success(),
        "zbarimg found no code: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim_end().to_owned()
}

fn enrollment() -> (Fixture, TotpEnrollment) {
    let f = Fixture::new("[totp]\nissuer = \"ACME Corp\"\n");
    let e = f
        .engine()
        .begin_totp("alice@example.org", T0, &mut SeededRandom::new(5))
        .unwrap();
    (f, e)
}

#[test]
fn terminal_qr_decodes_to_the_uri() {
    let (_f, e) = enrollment();
    for invert in [false, true] {
        let text = e.qr().unwrap().terminal(invert);
        // Each character is two modules; printed ink is light unless inverted.
        let mut bitmap = Vec::new();
        for line in text.expose().lines() {
            let (mut top, mut bottom) = (Vec::new(), Vec::new());
            for c in line.chars() {
                let (t, b) = match c {
                    '█' => (true, true),
                    '▀' => (true, false),
                    '▄' => (false, true),
                    ' ' => (false, false),
                    other => panic!("unexpected character {other:?}"),
                };
                top.push(t != invert);
                bottom.push(b != invert);
            }
            // `ink` means light when not inverted: dark = !ink.
            bitmap.push(top.iter().map(|ink| !ink).collect::<Vec<_>>());
            bitmap.push(bottom.iter().map(|ink| !ink).collect::<Vec<_>>());
        }
        assert_eq!(zbar(&bitmap, &format!("term{invert}")), e.uri.expose());
    }
}

#[test]
fn svg_qr_decodes_to_the_uri() {
    let (_f, e) = enrollment();
    let svg = e.qr().unwrap().svg();
    let d = svg
        .expose()
        .split("d=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let size = e.qr().unwrap().size() as usize + 4;
    let mut bitmap = vec![vec![false; size]; size];
    for cell in d.split('M').filter(|s| !s.is_empty()) {
        let xy = cell.trim_end_matches("h1v1h-1z");
        let (x, y) = xy.split_once(',').unwrap();
        bitmap[y.parse::<usize>().unwrap()][x.parse::<usize>().unwrap()] = true;
    }
    assert!(svg.expose().starts_with("<?xml"));
    assert_eq!(zbar(&bitmap, "svg"), e.uri.expose());
    assert!(e.uri.expose().contains("issuer=ACME%20Corp"));
}
