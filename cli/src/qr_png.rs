//! The enrollment QR code as a PNG image.

use planasonix_core::qr::Qr;

/// Pixels per module.
const SCALE: u32 = 8;
/// Quiet zone in modules (the QR specification asks for 4).
const BORDER: u32 = 4;

/// Encodes `qr` as an 8-bit grayscale PNG, black on white.
pub fn png_bytes(qr: &Qr) -> Result<Vec<u8>, png::EncodingError> {
    let modules = qr.size() as u32 + 2 * BORDER;
    let side = modules * SCALE;
    let mut pixels = Vec::with_capacity((side * side) as usize);
    for py in 0..side {
        for px in 0..side {
            let x = (px / SCALE) as i32 - BORDER as i32;
            let y = (py / SCALE) as i32 - BORDER as i32;
            pixels.push(if qr.dark(x, y) { 0u8 } else { 255u8 });
        }
    }
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, side, side);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(&pixels)?;
        writer.finish()?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_png_of_the_right_size() {
        let qr = Qr::new("otpauth://totp/X:y?secret=AAAA").unwrap();
        let bytes = png_bytes(&qr).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        let side = (qr.size() as u32 + 2 * BORDER) * SCALE;
        // IHDR width and height, big-endian, right after the signature and chunk header.
        assert_eq!(u32::from_be_bytes(bytes[16..20].try_into().unwrap()), side);
        assert_eq!(u32::from_be_bytes(bytes[20..24].try_into().unwrap()), side);
    }
}
