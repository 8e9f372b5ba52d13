//! Passkeys and security keys: registering one, signing in with one,
//! renaming and removing them. The verification is `crate::webauthn`'s; this
//! is where the engine issues the challenges (single use, short-lived,
//! bound to the user: a registration's kept in the record, a sign-in's
//! tagged under the seal key, `challenge.rs`), keeps the credentials beside
//! the app, and counts a refused sign-in like a wrong code.

use super::challenge::{spend, Spent};
use super::verify::Failure;
use super::{Engine, Tx};
use crate::audit::{AuditKind, Factor};
use crate::decision::{Context, Subject};
use crate::delivery::NoticeKind;
use crate::error::Error;
use crate::policy::{AttestationPolicy, UserVerificationPolicy};
use crate::random::Random;
use crate::record::UserRecord;
use crate::secret::SecretString;
use crate::time::UnixTime;
use crate::webauthn::{
    aaguid_text, claimed_challenge, clean_name, verify_assertion, verify_registration,
    AssertionResponse, AttestationCheck, AttestationRoots, Ceremony, CreationOptions, NameError,
    OpenChallenge, RegistrationResponse, RelyingParty, RequestOptions, StoredPasskey,
    UserVerification, WebAuthnError, CHALLENGE_LEN, MAX_OPEN_CHALLENGES, MAX_PASSKEYS,
    USER_HANDLE_LEN,
};
use core::fmt;
use data_encoding::BASE64URL_NOPAD;
use serde::Serialize;
use subtle::ConstantTimeEq;

/// Why a passkey could not be registered, renamed or removed, or a sign-in
/// not even be checked. None of these counts as a failed sign-in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PasskeyError {
    /// The policy's `[passkeys]` are off.
    Disabled,
    /// The browser's answer is refused: malformed, for another site, not
    /// for the challenge issued, or not signed right (why).
    Refused(WebAuthnError),
    /// The challenge it answers was never issued to this user, was used, or
    /// expired: start again.
    NoChallenge,
    /// The name is not acceptable.
    Name(NameError),
    /// The user has a passkey of that name already.
    NameTaken,
    /// The user has no passkey of that name.
    NotFound,
    /// The user has as many passkeys as one may have.
    TooMany,
    /// The authenticator's model (AAGUID) is not on the policy's list.
    ModelNotAllowed(String),
    /// This credential is registered already.
    AlreadyRegistered,
}

impl fmt::Display for PasskeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PasskeyError::Disabled => {
                f.write_str("passkeys are disabled by the organisation's policy")
            }
            PasskeyError::Refused(e) => write!(f, "the passkey was refused: {e}"),
            PasskeyError::NoChallenge => f.write_str(
                "this passkey request expired or was already answered; start again",
            ),
            PasskeyError::Name(e) => e.fmt(f),
            PasskeyError::NameTaken => f.write_str("you have a passkey of that name already"),
            PasskeyError::NotFound => f.write_str("there is no passkey of that name"),
            PasskeyError::TooMany => write!(
                f,
                "an account holds at most {MAX_PASSKEYS} passkeys; remove one first"
            ),
            PasskeyError::ModelNotAllowed(aaguid) => write!(
                f,
                "this kind of authenticator (model {aaguid}) is not allowed by the organisation's policy"
            ),
            PasskeyError::AlreadyRegistered => {
                f.write_str("this passkey is registered already")
            }
        }
    }
}

/// Why a passkey sign-in was refused (counted as a failure).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasskeyRefusal {
    /// It answers no challenge open for this user (expired, used, or never
    /// issued: a replay).
    NoChallenge,
    /// Not one of the user's passkeys.
    UnknownCredential,
    /// The policy requires user verification and the authenticator did not
    /// verify the user.
    UserNotVerified,
    /// The passkey's counter went back: it may have been cloned, and is
    /// refused until an administrator removes it.
    PossiblyCloned,
    /// The signature, the site, the RP ID or the data is not right (the
    /// audit event says which).
    Invalid,
}

/// The result of a passkey sign-in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PasskeyVerification {
    /// Signed in.
    Accepted {
        /// The passkey's name.
        name: String,
        /// Whether the authenticator verified the user (PIN, biometrics):
        /// RFC 8176's `user` beside `hwk`.
        user_verified: bool,
    },
    /// Refused, and counted as a failure.
    Refused {
        /// Why.
        reason: PasskeyRefusal,
        /// Failures left before a lock.
        failures_left: u32,
    },
    /// Locked until then (now or earlier).
    Locked {
        /// Until when.
        until: UnixTime,
    },
}

/// A registered passkey as the user and admins see it (never the key).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PasskeyInfo {
    /// Its name.
    pub name: String,
    /// The authenticator's model (AAGUID).
    pub aaguid: String,
    /// When it was registered.
    pub since: UnixTime,
    /// Its last accepted use.
    pub last_used: Option<UnixTime>,
    /// Whether it may be synced to other devices.
    pub backup_eligible: bool,
    /// When its counter went back (refused since), if it did.
    pub cloned_at: Option<UnixTime>,
}

impl From<&StoredPasskey> for PasskeyInfo {
    fn from(p: &StoredPasskey) -> Self {
        PasskeyInfo {
            name: p.name.clone(),
            aaguid: p.aaguid.clone(),
            since: p.since,
            last_used: p.last_used,
            backup_eligible: p.backup_eligible,
            cloned_at: p.cloned_at,
        }
    }
}

/// Opens a challenge for `ceremony`: expired ones go, and the oldest when
/// too many are open.
fn open(
    rec: &mut UserRecord,
    ceremony: Ceremony,
    challenge: &[u8],
    expires: UnixTime,
    now: UnixTime,
) {
    rec.passkey_challenges.retain(|c| c.expires > now);
    if rec.passkey_challenges.len() >= MAX_OPEN_CHALLENGES {
        rec.passkey_challenges.remove(0);
    }
    rec.passkey_challenges.push(OpenChallenge {
        ceremony,
        challenge: challenge.to_vec(),
        expires,
    });
}

/// Takes the open `ceremony` challenge equal to `claimed`, if there is a
/// live one: it is gone afterwards, whatever the answer (single use).
fn take(rec: &mut UserRecord, ceremony: Ceremony, claimed: &[u8], now: UnixTime) -> bool {
    rec.passkey_challenges.retain(|c| c.expires > now);
    let found = rec.passkey_challenges.iter().position(|c| {
        c.ceremony == ceremony
            && c.challenge.len() == claimed.len()
            && bool::from(c.challenge.ct_eq(claimed))
    });
    found.map(|i| rec.passkey_challenges.remove(i)).is_some()
}

impl Engine<'_> {
    pub(super) fn passkeys_on(&self) -> Result<(), Error> {
        if self.policy.passkeys.enabled {
            Ok(())
        } else {
            Err(PasskeyError::Disabled.into())
        }
    }

    pub(super) fn relying_party(&self) -> RelyingParty {
        RelyingParty {
            id: self.policy.passkeys.rp_id.clone(),
            origins: self.policy.passkeys.origins.clone(),
        }
    }

    pub(super) fn user_verification(&self) -> UserVerification {
        match self.policy.passkeys.user_verification {
            UserVerificationPolicy::Required => UserVerification::Required,
            UserVerificationPolicy::Preferred => UserVerification::Preferred,
            UserVerificationPolicy::Discouraged => UserVerification::Discouraged,
        }
    }

    pub(super) fn ceremony_ends(&self, now: UnixTime) -> UnixTime {
        now.plus(self.policy.passkeys.timeout)
    }

    /// Starts registering a passkey for `user`: the options for the
    /// browser's `navigator.credentials.create()`, as JSON, with a fresh
    /// challenge kept in the user's record. `display_name` is what the
    /// authenticator shows (the user's name when empty).
    pub fn passkey_registration_options(
        &self,
        user: &str,
        display_name: &str,
        now: UnixTime,
        rng: &mut dyn Random,
    ) -> Result<String, Error> {
        self.passkeys_on()?;
        let display = clean_name(display_name).unwrap_or_else(|_| user.to_owned());
        let mut challenge = [0u8; CHALLENGE_LEN];
        rng.fill(&mut challenge)?;
        let mut handle = [0u8; USER_HANDLE_LEN];
        rng.fill(&mut handle)?;
        let expires = self.ceremony_ends(now);
        self.update(user, None, now, |tx| {
            if tx.rec.passkeys.len() >= MAX_PASSKEYS {
                return Err(PasskeyError::TooMany.into());
            }
            let handle = tx
                .rec
                .passkey_user
                .get_or_insert_with(|| BASE64URL_NOPAD.encode(&handle))
                .clone();
            let handle = BASE64URL_NOPAD.decode(handle.as_bytes()).map_err(|_| {
                PasskeyError::Refused(WebAuthnError::Response("stored user handle"))
            })?;
            open(tx.rec, Ceremony::Register, &challenge, expires, now);
            let exclude: Vec<Vec<u8>> = tx.rec.passkeys.iter().map(|p| p.id.clone()).collect();
            Ok(CreationOptions {
                rp_id: &self.policy.passkeys.rp_id,
                rp_name: &self.policy.totp.issuer,
                user_handle: &handle,
                user_name: user,
                display_name: &display,
                challenge: &challenge,
                timeout_ms: self.policy.passkeys.timeout.as_millis() as u64,
                exclude: &exclude,
                uv: self.user_verification(),
                attestation: self.policy.passkeys.attestation == AttestationPolicy::Required,
            }
            .to_json())
        })
    }

    /// Registers the passkey the browser made (`response`: its
    /// `PublicKeyCredential.toJSON()`) under `name`. Returns recovery codes
    /// to show once when it is the user's first factor (empty otherwise).
    /// A refusal is audited and uses up the challenge.
    pub fn register_passkey(
        &self,
        user: &str,
        name: &str,
        response: &[u8],
        now: UnixTime,
        rng: &mut dyn Random,
    ) -> Result<Vec<SecretString>, Error> {
        self.passkeys_on()?;
        let name = clean_name(name).map_err(PasskeyError::Name)?;
        let parsed = RegistrationResponse::from_json(response).map_err(PasskeyError::Refused)?;
        let claimed = claimed_challenge(&parsed.client_data_json).map_err(PasskeyError::Refused)?;
        let fresh = self.new_recovery_codes(user, now, rng)?;
        let rp = self.relying_party();
        let uv = self.user_verification();
        let allowed = &self.policy.passkeys.allowed_aaguids;
        let roots = match self.policy.passkeys.attestation {
            AttestationPolicy::Required => Some(
                AttestationRoots::from_pem(&self.policy.passkeys.attestation_roots).map_err(
                    |_| {
                        PasskeyError::Refused(WebAuthnError::AttestationRequired(
                            "the policy's attestation roots do not read",
                        ))
                    },
                )?,
            ),
            AttestationPolicy::None => None,
        };
        let proof = match &roots {
            Some(roots) => AttestationCheck::Required { roots, now: now.0 },
            None => AttestationCheck::Optional,
        };
        let registered = self
            .update(user, None, now, |tx| {
                if !take(tx.rec, Ceremony::Register, &claimed, now) {
                    return Ok(Err(PasskeyError::NoChallenge));
                }
                let refuse = |tx: &mut Tx<'_>, e: PasskeyError| {
                    tx.audit(AuditKind::PasskeyRefused {
                        reason: format!("registration: {e}"),
                    });
                    Ok(Err(e))
                };
                if tx.rec.passkeys.iter().any(|p| p.name == name) {
                    return Ok(Err(PasskeyError::NameTaken));
                }
                if tx.rec.passkeys.len() >= MAX_PASSKEYS {
                    return Ok(Err(PasskeyError::TooMany));
                }
                let registered = match verify_registration(
                    &rp,
                    &claimed,
                    &parsed.client_data_json,
                    &parsed.attestation_object,
                    uv,
                    proof,
                ) {
                    Ok(r) => r,
                    Err(e) => return refuse(tx, PasskeyError::Refused(e)),
                };
                let credential = registered.credential;
                if credential.id != parsed.id {
                    return refuse(
                        tx,
                        PasskeyError::Refused(WebAuthnError::Response(
                            "the credential ID is not the attested credential's",
                        )),
                    );
                }
                let aaguid = aaguid_text(&credential.aaguid);
                if !allowed.is_empty() && !allowed.contains(&aaguid) {
                    return refuse(tx, PasskeyError::ModelNotAllowed(aaguid));
                }
                if tx.rec.passkeys.iter().any(|p| p.id == credential.id) {
                    return refuse(tx, PasskeyError::AlreadyRegistered);
                }
                tx.rec.passkeys.push(StoredPasskey {
                    name: name.clone(),
                    id: credential.id,
                    public_key: credential.public_key,
                    aaguid: aaguid.clone(),
                    sign_count: credential.sign_count,
                    backup_eligible: credential.backup_eligible,
                    user_verified: registered.user_verified,
                    since: now,
                    last_used: None,
                    cloned_at: None,
                });
                tx.rec.enroll_by = None;
                // A change of factors ends the user's other sessions.
                tx.rec.end_sessions(now);
                tx.audit(AuditKind::PasskeyAdded {
                    name: name.clone(),
                    aaguid,
                });
                tx.notify(NoticeKind::FactorAdded(Factor::Passkey));
                let handle = tx.rec.passkey_user.clone();
                Ok(Ok((
                    self.ensure_recovery(tx, &fresh.set, &fresh.display),
                    handle,
                )))
            })?
            .map_err(Error::from)?;
        let (codes, handle) = registered;
        if let Some(handle) = handle {
            self.index_user_handle(user, &handle)?;
        }
        Ok(codes)
    }

    /// Starts a passkey sign-in for `user`: the options for the browser's
    /// `navigator.credentials.get()`, as JSON, listing the user's passkeys,
    /// with a fresh challenge tagged for this user (`challenge.rs`): it reads
    /// the record and writes nothing.
    pub fn passkey_sign_in_options(
        &self,
        user: &str,
        now: UnixTime,
        rng: &mut dyn Random,
    ) -> Result<String, Error> {
        self.passkeys_on()?;
        let rec = self.load(user, now)?;
        if !rec.has_usable_passkey() {
            return Err(Error::NotEnrolled);
        }
        // Made without a write: the answer is what is kept (spent).
        let challenge = self.stateless_challenge(Ceremony::SignIn, Some(user), now, rng)?;
        let allow: Vec<Vec<u8>> = rec
            .passkeys
            .iter()
            .filter(|p| p.cloned_at.is_none())
            .map(|p| p.id.clone())
            .collect();
        Ok(RequestOptions {
            rp_id: &self.policy.passkeys.rp_id,
            challenge: &challenge,
            timeout_ms: self.policy.passkeys.timeout.as_millis() as u64,
            allow: &allow,
            uv: self.user_verification(),
        }
        .to_json())
    }

    /// Checks a passkey sign-in (`response`: the browser's
    /// `PublicKeyCredential.toJSON()`). A refusal counts toward the lockout
    /// like a wrong code, and is audited with its reason; a counter that
    /// went back marks the passkey as possibly cloned. A response that is
    /// not a credential's JSON at all is an error and counts nothing, as
    /// input that cannot be a code.
    pub fn verify_passkey(
        &self,
        user: &str,
        response: &[u8],
        ctx: &Context,
        now: UnixTime,
    ) -> Result<PasskeyVerification, Error> {
        self.passkeys_on()?;
        let parsed = AssertionResponse::from_json(response).map_err(PasskeyError::Refused)?;
        let claimed = claimed_challenge(&parsed.client_data_json).map_err(PasskeyError::Refused)?;
        let rp = self.relying_party();
        let uv = self.user_verification();
        self.update(user, Some(ctx), now, |tx| {
            if let Some(until) = tx.rec.locked_until_from(ctx.remote.as_deref(), now) {
                return Ok(PasskeyVerification::Locked { until });
            }
            if tx.rec.passkeys.is_empty() {
                return Err(Error::NotEnrolled);
            }
            let spent = self
                .live_challenge(&claimed, Ceremony::SignIn, Some(user), now)
                .map(|expires| spend(tx.rec, Ceremony::SignIn, &claimed, expires, now));
            if spent == Some(Spent::Full) {
                return Err(PasskeyError::NoChallenge.into());
            }
            if spent != Some(Spent::Now) {
                return Ok(self.refuse_sign_in(
                    tx,
                    PasskeyRefusal::NoChallenge,
                    "it answers no live challenge made for this user's sign-in (expired, used, or never issued)".into(),
                ));
            }
            Ok(self.check_assertion(tx, &parsed, &claimed, &rp, uv))
        })
    }

    /// The assertion `parsed`, whose challenge `claimed` was found live and
    /// taken: the user's credential, its signature and counter. A refusal
    /// is audited and counted; a counter that went back marks the passkey
    /// as possibly cloned.
    pub(super) fn check_assertion(
        &self,
        tx: &mut Tx<'_>,
        parsed: &AssertionResponse,
        claimed: &[u8],
        rp: &RelyingParty,
        uv: UserVerification,
    ) -> PasskeyVerification {
        let now = tx.now;
        let Some(at) = tx.rec.passkeys.iter().position(|p| p.id == parsed.id) else {
            return self.refuse_sign_in(
                tx,
                PasskeyRefusal::UnknownCredential,
                "not one of the user's passkeys".into(),
            );
        };
        let passkey = &tx.rec.passkeys[at];
        if passkey.cloned_at.is_some() {
            let reason = format!("{:?} is marked as possibly cloned", passkey.name);
            return self.refuse_sign_in(tx, PasskeyRefusal::PossiblyCloned, reason);
        }
        let checked = verify_assertion(
            rp,
            &passkey.credential(),
            claimed,
            &parsed.client_data_json,
            &parsed.authenticator_data,
            &parsed.signature,
            uv,
        );
        let name = passkey.name.clone();
        match checked {
            Ok(asserted) => {
                let passkey = &mut tx.rec.passkeys[at];
                passkey.sign_count = asserted.sign_count;
                passkey.last_used = Some(now);
                self.succeed(tx, Factor::Passkey);
                PasskeyVerification::Accepted {
                    name,
                    user_verified: asserted.user_verified,
                }
            }
            Err(e @ WebAuthnError::CounterRegressed { .. }) => {
                tx.rec.passkeys[at].cloned_at = Some(now);
                tx.rec.end_sessions(now);
                tx.audit(AuditKind::PasskeyCloned { name: name.clone() });
                let reason = format!("{name:?}: {e}");
                self.refuse_sign_in(tx, PasskeyRefusal::PossiblyCloned, reason)
            }
            Err(e @ WebAuthnError::UserNotVerified) => self.refuse_sign_in(
                tx,
                PasskeyRefusal::UserNotVerified,
                format!("{name:?}: {e}"),
            ),
            Err(e) => self.refuse_sign_in(tx, PasskeyRefusal::Invalid, format!("{name:?}: {e}")),
        }
    }

    /// Audits a refused sign-in and counts it as a failure.
    pub(super) fn refuse_sign_in(
        &self,
        tx: &mut Tx<'_>,
        reason: PasskeyRefusal,
        detail: String,
    ) -> PasskeyVerification {
        tx.audit(AuditKind::PasskeyRefused { reason: detail });
        match self.fail(tx, Failure::Wrong) {
            super::Verification::Locked { until } => PasskeyVerification::Locked { until },
            super::Verification::Rejected { failures_left } => PasskeyVerification::Refused {
                reason,
                failures_left,
            },
            _ => PasskeyVerification::Refused {
                reason,
                failures_left: 0,
            },
        }
    }

    /// Renames one of `user`'s passkeys.
    pub fn rename_passkey(
        &self,
        user: &str,
        name: &str,
        new_name: &str,
        now: UnixTime,
    ) -> Result<(), Error> {
        let new_name = clean_name(new_name).map_err(PasskeyError::Name)?;
        self.update(user, None, now, |tx| {
            if tx
                .rec
                .passkeys
                .iter()
                .any(|p| p.name == new_name && p.name != name)
            {
                return Err(PasskeyError::NameTaken.into());
            }
            let passkey = tx
                .rec
                .passkeys
                .iter_mut()
                .find(|p| p.name == name)
                .ok_or(PasskeyError::NotFound)?;
            if passkey.name == new_name {
                return Ok(());
            }
            passkey.name = new_name.clone();
            tx.audit(AuditKind::PasskeyRenamed {
                from: name.to_owned(),
                to: new_name.clone(),
            });
            Ok(())
        })
    }

    /// Removes `subject`'s passkey `name` (the user on the Security page, or
    /// an admin): audited and notified; refused with
    /// [`Error::LastFactorRequired`] when it is their last usable factor
    /// and the policy requires one. Removing the last factor where none is
    /// required also drops the recovery codes.
    pub fn remove_passkey(
        &self,
        subject: &Subject,
        name: &str,
        now: UnixTime,
    ) -> Result<(), Error> {
        let required = self.requires_mfa(subject);
        self.update(&subject.user, None, now, |tx| {
            let Some(at) = tx.rec.passkeys.iter().position(|p| p.name == name) else {
                return Err(PasskeyError::NotFound.into());
            };
            // One refused as possibly cloned signs nobody in: it may always go.
            let usable = tx.rec.passkeys[at].cloned_at.is_none();
            if required && usable && !self.other_factor_left(tx.rec, Factor::Passkey, Some(name)) {
                return Err(Error::LastFactorRequired);
            }
            let removed = tx.rec.passkeys.remove(at);
            if !tx.rec.enrolled() {
                tx.rec.recovery = None;
                tx.rec.last_mfa = None;
            }
            tx.rec.end_sessions(now);
            tx.audit(AuditKind::PasskeyRemoved { name: removed.name });
            tx.notify(NoticeKind::FactorRemoved(Factor::Passkey));
            Ok(())
        })
    }
}
