//! Sign-in challenges that need no store until they are answered: a nonce,
//! an expiry and a tag under the seal key over both, the ceremony and the
//! user they were made for. Showing a passkey page writes nothing; the
//! answer, once checked, is kept spent in the user's record until it
//! expires, so each challenge works once. (Registrations, which are rare,
//! keep their challenge in the record from the start.)

use super::Engine;
use crate::random::{Random, RandomError};
use crate::record::{UserRecord, SCHEMA_VERSION};
use crate::time::UnixTime;
use crate::webauthn::{Ceremony, OpenChallenge};

/// Bytes of the nonce and of the tag.
const NONCE: usize = 16;
const TAG: usize = 16;
/// Bytes of a challenge: nonce, expiry (8), tag.
pub(super) const LEN: usize = NONCE + 8 + TAG;
/// Spent challenges a record keeps at most (each only until it expires): a
/// bound on the record's size. With the default two-minute timeout that is a
/// sign-in every four seconds, for two minutes, before one is refused; a
/// person does not come near it.
const MAX_SPENT: usize = 32;

/// What a challenge's tag is bound to: its ceremony and user (none for a
/// passwordless sign-in, where nobody is known yet).
fn context(ceremony: Ceremony, user: Option<&str>) -> String {
    let ceremony = match ceremony {
        Ceremony::Register => "register",
        Ceremony::SignIn => "sign-in",
        Ceremony::Passwordless => "passwordless",
    };
    match user {
        Some(user) => format!("planasonix/v1/challenge/{ceremony}/user/{user}"),
        None => format!("planasonix/v1/challenge/{ceremony}"),
    }
}

impl Engine<'_> {
    fn challenge_tag(&self, ceremony: Ceremony, user: Option<&str>, body: &[u8]) -> [u8; TAG] {
        let full = self
            .key
            .record_tag(SCHEMA_VERSION, &context(ceremony, user), body);
        let mut tag = [0u8; TAG];
        tag.copy_from_slice(&full[..TAG]);
        tag
    }

    /// A fresh challenge for `ceremony` and `user`, live until the policy's
    /// ceremony timeout from `now`.
    pub(super) fn stateless_challenge(
        &self,
        ceremony: Ceremony,
        user: Option<&str>,
        now: UnixTime,
        rng: &mut dyn Random,
    ) -> Result<Vec<u8>, RandomError> {
        let mut body = [0u8; NONCE + 8];
        rng.fill(&mut body[..NONCE])?;
        body[NONCE..].copy_from_slice(&self.ceremony_ends(now).0.to_be_bytes());
        Ok([&body[..], &self.challenge_tag(ceremony, user, &body)].concat())
    }

    /// When `claimed` expires, if this engine made it for `ceremony` and
    /// `user` and it has not expired (spent or not: see [`spend`]).
    pub(super) fn live_challenge(
        &self,
        claimed: &[u8],
        ceremony: Ceremony,
        user: Option<&str>,
        now: UnixTime,
    ) -> Option<UnixTime> {
        if claimed.len() != LEN {
            return None;
        }
        let (body, tag) = claimed.split_at(NONCE + 8);
        let good: bool =
            subtle::ConstantTimeEq::ct_eq(&self.challenge_tag(ceremony, user, body)[..], tag)
                .into();
        let mut expiry = [0u8; 8];
        expiry.copy_from_slice(&body[NONCE..]);
        let expires = UnixTime(u64::from_be_bytes(expiry));
        (good && expires > now).then_some(expires)
    }
}

/// What [`spend`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Spent {
    /// Marked spent now: the answer may be checked.
    Now,
    /// Spent before: a replay.
    Before,
    /// Too many live spent ones to keep another: refused without a count
    /// (it is no attack on this user, just more sign-ins than a record
    /// keeps within one timeout).
    Full,
}

/// Marks `claimed` (live until `expires`) spent in `rec`.
pub(super) fn spend(
    rec: &mut UserRecord,
    ceremony: Ceremony,
    claimed: &[u8],
    expires: UnixTime,
    now: UnixTime,
) -> Spent {
    rec.spent_challenges.retain(|c| c.expires > now);
    if rec.spent_challenges.iter().any(|c| c.challenge == claimed) {
        return Spent::Before;
    }
    if rec.spent_challenges.len() >= MAX_SPENT {
        return Spent::Full;
    }
    rec.spent_challenges.push(OpenChallenge {
        ceremony,
        challenge: claimed.to_vec(),
        expires,
    });
    Spent::Now
}
