//! The checks behind the fuzz targets on `planasonix-native`.

/// Target `service_frame`: the state service's wire format on any bytes, as a
/// request body, a response body and a stream of frames.
///
/// Nothing panics or allocates past the frame limit; whatever decodes is the
/// canonical encoding of what it decoded to (asserted inside
/// `planasonix_native::fuzzing::service_frames`), and decoding is deterministic.
pub fn service_frame(data: &[u8]) {
    let first = planasonix_native::fuzzing::service_frames(data);
    let again = planasonix_native::fuzzing::service_frames(data);
    assert_eq!(first, again, "decoding is not deterministic");
}
