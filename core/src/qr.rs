//! QR codes for enrollment: SVG for web pages and files, UTF-8 text for terminals.
//!
//! The QR encodes the otpauth URI and therefore the secret: the rendered output is
//! a [`SecretString`].

use crate::secret::SecretString;
use qrcodegen::{QrCode, QrCodeEcc};

/// Modules of quiet zone around the code.
const QUIET: i32 = 2;

/// Why a QR code could not be made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QrTooLong;

impl core::fmt::Display for QrTooLong {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("text too long for a QR code")
    }
}

/// A QR code for `text` (medium error correction).
pub struct Qr(QrCode);

impl core::fmt::Debug for Qr {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Qr({0}x{0} modules, [REDACTED])", self.0.size())
    }
}

impl Qr {
    /// Encodes `text`.
    pub fn new(text: &str) -> Result<Qr, QrTooLong> {
        QrCode::encode_text(text, QrCodeEcc::Medium)
            .map(Qr)
            .map_err(|_| QrTooLong)
    }

    /// Side length in modules, without the quiet zone.
    pub fn size(&self) -> i32 {
        self.0.size()
    }

    /// Whether the module at (x, y) is dark; outside the code is light.
    pub fn dark(&self, x: i32, y: i32) -> bool {
        self.0.get_module(x, y)
    }

    /// A standalone SVG image, black on white, one unit per module.
    pub fn svg(&self) -> SecretString {
        let n = self.size() + 2 * QUIET;
        let mut path = String::new();
        for y in 0..self.size() {
            for x in 0..self.size() {
                if self.dark(x, y) {
                    path.push_str(&format!("M{},{}h1v1h-1z", x + QUIET, y + QUIET));
                }
            }
        }
        SecretString::new(format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" viewBox=\"0 0 {n} {n}\" width=\"{w}\" height=\"{w}\" shape-rendering=\"crispEdges\">\n<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n<path fill=\"#000000\" d=\"{path}\"/>\n</svg>\n",
            w = n * 8
        ))
    }

    /// Terminal text, two modules per character cell using half blocks.
    ///
    /// Drawn light-on-dark: light modules are printed (the terminal's foreground),
    /// dark modules are blank, which is what scanners see on the usual dark
    /// terminal. `invert` draws dark modules instead, for light terminals.
    pub fn terminal(&self, invert: bool) -> SecretString {
        let lo = -QUIET;
        let hi = self.size() + QUIET;
        let ink = |x: i32, y: i32| self.dark(x, y) == invert;
        let mut out = String::new();
        let mut y = lo;
        while y < hi {
            for x in lo..hi {
                let top = ink(x, y);
                let bottom = y + 1 < hi && ink(x, y + 1);
                out.push(match (top, bottom) {
                    (true, true) => '█',
                    (true, false) => '▀',
                    (false, true) => '▄',
                    (false, false) => ' ',
                });
            }
            out.push('\n');
            y += 2;
        }
        SecretString::new(out)
    }
}
