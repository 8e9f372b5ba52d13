//! The sentences every door shows the person signing in alike (a wrong code,
//! a lock, the grace period…), compiled in from `core/messages.txt` by
//! `build.rs`; the identity provider reads the same file
//! (`idp/src/messages.mjs`). A message without placeholders is a constant;
//! one with placeholders is a function of them, in the order they appear.
//! Times are passed as the door shows them ([`crate::UnixTime`] displays
//! ISO 8601 UTC).

include!(concat!(env!("OUT_DIR"), "/messages.rs"));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_in_order_and_the_text_is_the_catalogues() {
        assert_eq!(
            wrong_code(4),
            "Wrong code. 4 more wrong codes lock second-factor sign-in."
        );
        assert_eq!(
            locked_until(crate::UnixTime(0)),
            "Too many wrong codes: second-factor sign-in is locked until 1970-01-01T00:00:00Z."
        );
        assert!(UNAVAILABLE.ends_with("contact your administrator."));
    }
}
