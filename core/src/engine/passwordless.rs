//! Signing in with a passkey alone: no user name typed, the browser offers
//! the site's discoverable passkeys, and the one chosen says whose it is
//! (its user handle). Its challenge is stateless (a nonce, an expiry and a
//! tag under the seal key), so a page anyone can load writes nothing; once
//! a user is known, their record keeps the challenge as spent until it
//! expires. The authenticator must verify the person: possession and a PIN
//! or biometrics, two factors in one.

use super::challenge::{spend, Spent};
use super::passkey::{PasskeyError, PasskeyRefusal, PasskeyVerification};
use super::Engine;
use crate::decision::Context;
use crate::error::Error;
use crate::random::Random;
use crate::record::{open_bytes, seal_bytes};
use crate::store::Cas;
use crate::time::UnixTime;
use crate::webauthn::{
    claimed_challenge, AssertionResponse, Ceremony, RequestOptions, UserVerification, WebAuthnError,
};
use data_encoding::BASE64URL_NOPAD;

/// Store keys of the user-handle index: `passkey-user/HANDLE` → user name.
const INDEX_PREFIX: &str = "passkey-user/";

/// The result of a passwordless sign-in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PasswordlessVerification {
    /// Signed in as `user` with the passkey `name` (the person verified).
    Accepted {
        /// The user the passkey belongs to.
        user: String,
        /// The passkey's name.
        name: String,
    },
    /// Refused. Counted as a failure of the user once the passkey said
    /// whose it is; nothing is written for an unknown one.
    Refused {
        /// Why.
        reason: PasskeyRefusal,
    },
    /// The user is locked out until then.
    Locked {
        /// Until when.
        until: UnixTime,
    },
}

fn index_key(handle: &str) -> String {
    format!("{INDEX_PREFIX}{handle}")
}

impl Engine<'_> {
    fn passwordless_on(&self) -> Result<(), Error> {
        self.passkeys_on()?;
        if self.policy.passkeys.passwordless {
            Ok(())
        } else {
            Err(PasskeyError::Disabled.into())
        }
    }

    /// Options for a passwordless sign-in: no credentials listed (the
    /// browser offers the site's discoverable ones), user verification
    /// required, a challenge that needs no store.
    pub fn passwordless_options(
        &self,
        now: UnixTime,
        rng: &mut dyn Random,
    ) -> Result<String, Error> {
        self.passwordless_on()?;
        let challenge = self.stateless_challenge(Ceremony::Passwordless, None, now, rng)?;
        Ok(RequestOptions {
            rp_id: &self.policy.passkeys.rp_id,
            challenge: &challenge,
            timeout_ms: self.policy.passkeys.timeout.as_millis() as u64,
            allow: &[],
            uv: UserVerification::Required,
        }
        .to_json())
    }

    /// Records that `user`'s passkeys answer to `handle` (made at their
    /// first registration), for passwordless sign-ins to find them. The
    /// value is authenticated; a record still has to name the handle.
    pub(super) fn index_user_handle(&self, user: &str, handle: &str) -> Result<(), Error> {
        let key = index_key(handle);
        if self.store.get(&key)?.is_none() {
            let value = seal_bytes(self.key, &key, user.as_bytes());
            // Another writer's entry for the same random handle is the same.
            let (Cas::Swapped(_) | Cas::Conflict) =
                self.store.compare_and_swap(&key, None, Some(&value))?;
        }
        Ok(())
    }

    /// The user a handle's index entry names, if it is genuine.
    fn user_of_handle(&self, handle: &str) -> Result<Option<String>, Error> {
        let key = index_key(handle);
        let Some(found) = self.store.get(&key)? else {
            return Ok(None);
        };
        Ok(match open_bytes(self.key, &key, &found.value) {
            Ok(Some(name)) => String::from_utf8(name.to_vec()).ok(),
            _ => None,
        })
    }

    /// Checks a passwordless sign-in (`response`: the browser's
    /// `PublicKeyCredential.toJSON()`, with its user handle): the challenge
    /// this engine made, unspent and live; the user the handle names; then
    /// everything a passkey sign-in checks, the person verified. Refusals
    /// once the user is known count toward their lockout.
    pub fn verify_passwordless(
        &self,
        response: &[u8],
        ctx: &Context,
        now: UnixTime,
    ) -> Result<PasswordlessVerification, Error> {
        self.passwordless_on()?;
        let parsed = AssertionResponse::from_json(response).map_err(PasskeyError::Refused)?;
        let claimed = claimed_challenge(&parsed.client_data_json).map_err(PasskeyError::Refused)?;
        let refused = |reason| Ok(PasswordlessVerification::Refused { reason });
        let Some(expires) = self.live_challenge(&claimed, Ceremony::Passwordless, None, now) else {
            return refused(PasskeyRefusal::NoChallenge);
        };
        let Some(handle) = parsed
            .user_handle
            .as_deref()
            .map(|h| BASE64URL_NOPAD.encode(h))
        else {
            return Err(PasskeyError::Refused(WebAuthnError::Response(
                "a passwordless sign-in needs the passkey's user handle",
            ))
            .into());
        };
        let Some(user) = self.user_of_handle(&handle)? else {
            return refused(PasskeyRefusal::UnknownCredential);
        };
        let rp = self.relying_party();
        let verified = self.update(&user, Some(ctx), now, |tx| {
            if let Some(until) = tx.rec.locked_until_from(ctx.remote.as_deref(), now) {
                return Ok(PasskeyVerification::Locked { until });
            }
            if tx.rec.passkey_user.as_deref() != Some(handle.as_str()) {
                return Ok(self.refuse_sign_in(
                    tx,
                    PasskeyRefusal::UnknownCredential,
                    "the user handle is not this user's".into(),
                ));
            }
            let spent = spend(tx.rec, Ceremony::Passwordless, &claimed, expires, now);
            if spent == Spent::Full {
                return Err(PasskeyError::NoChallenge.into());
            }
            if spent == Spent::Before {
                return Ok(self.refuse_sign_in(
                    tx,
                    PasskeyRefusal::NoChallenge,
                    "a passwordless challenge answered before".into(),
                ));
            }
            Ok(self.check_assertion(tx, &parsed, &claimed, &rp, UserVerification::Required))
        })?;
        Ok(match verified {
            PasskeyVerification::Accepted { name, .. } => {
                PasswordlessVerification::Accepted { user, name }
            }
            PasskeyVerification::Refused { reason, .. } => {
                PasswordlessVerification::Refused { reason }
            }
            PasskeyVerification::Locked { until } => PasswordlessVerification::Locked { until },
        })
    }
}
