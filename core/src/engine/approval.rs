//! Login approvals through the engine: a terminal login's request (asked
//! for by the PAM module), answered at the identity provider by the same
//! user with number matching, and taken once by the login. The data and
//! the rules of codes are `crate::approval`'s.

use super::verify::Failure;
use super::{Engine, Tx};
use crate::approval::{
    clean_field, shown_code, typed_code, ApprovalState, LoginApproval, CHOICES, CODE_ALPHABET,
    CODE_LEN, HANDLE_LEN,
};
use crate::audit::AuditKind;
use crate::decision::{Context, Session};
use crate::delivery::NoticeKind;
use crate::error::Error;
use crate::policy::Require;
use crate::random::{Random, RandomError};
use crate::time::UnixTime;
use core::fmt;
use data_encoding::HEXLOWER;
use subtle::ConstantTimeEq;

/// Codes typed at the approval page that match none of the user's requests,
/// within one request's lifetime, before lookups are refused.
pub const MAX_CODE_MISSES: usize = 10;

/// Why an approval could not be asked for, answered or taken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApprovalError {
    /// The policy's `[approval]` is off, or not offered to this service.
    NotOffered,
    /// The user has as many pending requests as the policy allows.
    TooMany,
    /// No pending request of the user has this code or handle: never made,
    /// taken, voided or expired.
    NotFound,
    /// Too many codes that matched nothing were typed: try again after.
    TooManyCodes {
        /// When a code may be typed again.
        until: UnixTime,
    },
    /// The approving sign-in's second factor is not recent enough.
    StaleSignIn,
    /// This login's service needs a phishing-resistant sign-in (a passkey)
    /// to approve it.
    NeedsPhishingResistant,
}

impl fmt::Display for ApprovalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApprovalError::NotOffered => f.write_str("approving this login in the browser is not offered by the organisation's policy"),
            ApprovalError::TooMany => f.write_str("too many logins are waiting for approval already; approve or let them expire first"),
            ApprovalError::NotFound => f.write_str("no login of yours is waiting with that code: check the code at the terminal, or start the login again"),
            ApprovalError::TooManyCodes { until } => write!(f, "too many codes that match no login: try again after {until}"),
            ApprovalError::StaleSignIn => f.write_str("confirm it is you with your second factor first"),
            ApprovalError::NeedsPhishingResistant => f.write_str("this login can only be approved after signing in with a passkey"),
        }
    }
}

impl std::error::Error for ApprovalError {}

/// What the terminal shows for a new request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApprovalStart {
    /// The login's handle: the module asks about the request by it.
    pub handle: String,
    /// The short code, as shown (`A7K-29Q`).
    pub code: String,
    /// The number to pick.
    pub number: u8,
    /// The identity provider's approval page.
    pub url: String,
    /// When it lapses.
    pub expires: UnixTime,
}

/// What the approval page shows of a request, once its code was entered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApprovalView {
    /// The machine of the login.
    pub host: String,
    /// The PAM service.
    pub service: String,
    /// The address the login comes from.
    pub remote: Option<String>,
    /// When it was asked for.
    pub created: UnixTime,
    /// When it lapses.
    pub expires: UnixTime,
    /// The numbers to pick from.
    pub choices: [u8; CHOICES],
    /// What the approving sign-in needs.
    pub require: Require,
}

/// The user's answer at the approval page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApprovalAnswer {
    /// This number was picked.
    Number(u8),
    /// "This wasn't me".
    NotMe,
}

/// How an answer went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answered {
    /// The right number: the login goes on.
    Approved,
    /// Another number: the login is refused (a user picking blindly may be
    /// answering someone else's request).
    WrongNumber,
    /// "This wasn't me": refused, the user warned.
    Denied,
}

/// Where a login's request stands, as its PAM module sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApprovalOutcome {
    /// Not answered yet.
    Waiting {
        /// When it lapses.
        expires: UnixTime,
    },
    /// Approved, and now taken: the login is accepted (once).
    Approved,
    /// Refused at the identity provider.
    Denied,
    /// Lapsed unanswered.
    Expired,
    /// No such request (taken, voided or never made).
    Gone,
}

impl<'a> Engine<'a> {
    /// Asks for a terminal login of `user` on `host` (`ctx`: its PAM service
    /// and remote address) to be approved at the identity provider: a new
    /// request in the user's record, with its code and number.
    pub fn begin_approval(
        &self,
        user: &str,
        host: &str,
        ctx: &Context,
        now: UnixTime,
        rng: &mut dyn Random,
    ) -> Result<ApprovalStart, Error> {
        let policy = &self.policy.approval;
        if !policy.offered_to(&ctx.service) {
            return Err(ApprovalError::NotOffered.into());
        }
        let mut handle = [0u8; HANDLE_LEN];
        rng.fill(&mut handle)?;
        let handle = HEXLOWER.encode(&handle);
        let mut drawn = [0u8; 64];
        rng.fill(&mut drawn)?;
        let expires = now.plus(policy.lifetime);
        let host = clean_field(host);
        let max_pending = policy.max_pending as usize;
        let made = self.update(user, Some(ctx), now, |tx| {
            // The user-wide lock or this address's, whichever ends later.
            if let Some(until) = tx.rec.locked_until_from(ctx.remote.as_deref(), now) {
                return Err(Error::Locked { until });
            }
            self.settle_expired(tx);
            let waiting = tx
                .rec
                .approvals
                .iter()
                .filter(|a| a.state == ApprovalState::Pending)
                .count();
            if waiting >= max_pending {
                return Err(ApprovalError::TooMany.into());
            }
            let (code, number, choices) = draw(&drawn, &tx.rec.approvals)?;
            tx.rec.approvals.push(LoginApproval {
                handle: handle.clone(),
                code: code.clone(),
                number,
                choices,
                host: host.clone(),
                service: clean_field(&ctx.service),
                remote: ctx.remote.as_deref().map(clean_field),
                created: now,
                expires,
                state: ApprovalState::Pending,
            });
            tx.audit(AuditKind::ApprovalRequested {
                login_host: host.clone(),
            });
            Ok((code, number))
        })?;
        Ok(ApprovalStart {
            handle,
            code: shown_code(&made.0),
            number: made.1,
            url: policy.url.clone(),
            expires,
        })
    }

    /// Where the request `handle` of `user` stands. Waiting costs no write;
    /// an approved request is taken here, once, and the login accepted as
    /// with a right code; a refused or lapsed one is removed.
    pub fn approval_outcome(
        &self,
        user: &str,
        handle: &str,
        ctx: &Context,
        now: UnixTime,
    ) -> Result<ApprovalOutcome, Error> {
        let rec = self.load(user, now)?;
        match rec.approvals.iter().find(|a| same(&a.handle, handle)) {
            None => return Ok(ApprovalOutcome::Gone),
            Some(a) if a.state == ApprovalState::Pending && a.expires > now => {
                return Ok(ApprovalOutcome::Waiting { expires: a.expires })
            }
            Some(_) => {}
        }
        self.update(user, Some(ctx), now, |tx| {
            let Some(i) = tx
                .rec
                .approvals
                .iter()
                .position(|a| same(&a.handle, handle))
            else {
                return Ok(ApprovalOutcome::Gone);
            };
            let request = tx.rec.approvals[i].clone();
            match request.state {
                ApprovalState::Pending if request.expires > now => Ok(ApprovalOutcome::Waiting {
                    expires: request.expires,
                }),
                ApprovalState::Pending => {
                    tx.rec.approvals.remove(i);
                    tx.audit(AuditKind::ApprovalExpired {
                        login_host: request.host,
                    });
                    Ok(ApprovalOutcome::Expired)
                }
                ApprovalState::Denied { .. } => {
                    tx.rec.approvals.remove(i);
                    Ok(ApprovalOutcome::Denied)
                }
                ApprovalState::Approved { .. } => {
                    tx.rec.approvals.remove(i);
                    tx.audit(AuditKind::ApprovalUsed {
                        login_host: request.host,
                    });
                    // Not phishing-resistant, whatever the approving sign-in
                    // was: the terminal is tied to it only by what its user read.
                    self.passed(tx, false);
                    Ok(ApprovalOutcome::Approved)
                }
            }
        })
    }

    /// Gives up the request `handle` (a code was typed instead, or the
    /// prompt ended): it can no longer be approved. `reason` is audited.
    pub fn void_approval(
        &self,
        user: &str,
        handle: &str,
        reason: &str,
        ctx: &Context,
        now: UnixTime,
    ) -> Result<(), Error> {
        let reason = clean_field(reason);
        self.update(user, Some(ctx), now, |tx| {
            if let Some(i) = tx
                .rec
                .approvals
                .iter()
                .position(|a| same(&a.handle, handle))
            {
                let request = tx.rec.approvals.remove(i);
                tx.audit(AuditKind::ApprovalVoided {
                    login_host: request.host,
                    reason: reason.clone(),
                });
            }
            Ok(())
        })
    }

    /// The request of `user` whose code was `typed` at the approval page:
    /// who asks and the numbers to pick from. A code that matches none of
    /// the user's pending requests is counted; after [`MAX_CODE_MISSES`]
    /// within a lifetime, lookups are refused until the oldest ages out.
    pub fn approval_request(
        &self,
        user: &str,
        typed: &str,
        now: UnixTime,
    ) -> Result<ApprovalView, Error> {
        let request = self.find_by_code(user, typed, now)?;
        Ok(ApprovalView {
            require: self.policy.approval.require_for(&request.service),
            host: request.host,
            service: request.service,
            remote: request.remote,
            created: request.created,
            expires: request.expires,
            choices: request.choices,
        })
    }

    /// Answers the request of `user` whose code was `typed`, from a sign-in
    /// at the identity provider (`session`, with its `amr`). Only a recent
    /// enough second factor of the kind the login's service requires may
    /// approve; the answer is final either way.
    pub fn answer_approval(
        &self,
        user: &str,
        typed: &str,
        answer: ApprovalAnswer,
        session: &Session,
        amr: &[String],
        now: UnixTime,
    ) -> Result<Answered, Error> {
        let found = self.find_by_code(user, typed, now)?;
        if answer != ApprovalAnswer::NotMe {
            let max_age = self
                .policy
                .step_up
                .get("approve-login")
                .map_or(core::time::Duration::ZERO, |s| s.max_age);
            let recent = session
                .mfa_at
                .is_some_and(|at| at <= now && now.since(at) <= max_age);
            if !recent {
                return Err(ApprovalError::StaleSignIn.into());
            }
            let needs = self.policy.approval.require_for(&found.service);
            if needs == Require::PhishingResistant && !session.phishing_resistant {
                return Err(ApprovalError::NeedsPhishingResistant.into());
            }
        }
        // The transaction's context is the login's, so its audit events and
        // a counted refusal fall on the address the login came from.
        let login = Context {
            service: found.service.clone(),
            remote: found.remote.clone(),
            action: None,
            session: None,
        };
        let (methods, amr) = (amr.to_vec(), amr.join(" "));
        let counts = self.policy.approval.denial_counts;
        self.update(user, Some(&login), now, |tx| {
            let Some(request) = tx
                .rec
                .approvals
                .iter_mut()
                .find(|a| same(&a.handle, &found.handle) && a.state == ApprovalState::Pending)
            else {
                return Err(ApprovalError::NotFound.into());
            };
            let host = request.host.clone();
            let answered = match answer {
                ApprovalAnswer::Number(n) if n == request.number => {
                    request.state = ApprovalState::Approved {
                        at: now,
                        amr: methods.clone(),
                    };
                    tx.audit(AuditKind::ApprovalApproved {
                        login_host: host,
                        amr: amr.clone(),
                    });
                    return Ok(Answered::Approved);
                }
                ApprovalAnswer::Number(_) => Answered::WrongNumber,
                ApprovalAnswer::NotMe => Answered::Denied,
            };
            request.state = ApprovalState::Denied { at: now };
            tx.audit(AuditKind::ApprovalDenied {
                login_host: host,
                reason: if answered == Answered::Denied {
                    "not-me".into()
                } else {
                    "wrong-number".into()
                },
            });
            if answered == Answered::Denied {
                tx.notify(NoticeKind::LoginApprovalDenied);
            }
            if counts {
                self.fail(tx, Failure::Wrong);
            }
            Ok(answered)
        })
    }

    /// The pending request of `user` with the code `typed`, counting a miss.
    fn find_by_code(&self, user: &str, typed: &str, now: UnixTime) -> Result<LoginApproval, Error> {
        let window = self.policy.approval.lifetime;
        let rec = self.load(user, now)?;
        let recent_misses = |misses: &[UnixTime]| {
            misses
                .iter()
                .filter(|at| now.since(**at) < window)
                .copied()
                .collect::<Vec<_>>()
        };
        let misses = recent_misses(&rec.approval_misses);
        if misses.len() >= MAX_CODE_MISSES {
            let oldest = misses.iter().min().copied().unwrap_or(now);
            return Err(ApprovalError::TooManyCodes {
                until: oldest.plus(window),
            }
            .into());
        }
        let code = typed_code(typed);
        let found = code.as_deref().and_then(|code| {
            rec.approvals.iter().find(|a| {
                a.state == ApprovalState::Pending && a.expires > now && same(&a.code, code)
            })
        });
        if let Some(found) = found {
            return Ok(found.clone());
        }
        self.update(user, None, now, |tx| {
            let mut kept = recent_misses(&tx.rec.approval_misses);
            kept.push(now);
            tx.rec.approval_misses = kept;
            Ok(())
        })?;
        Err(ApprovalError::NotFound.into())
    }

    /// Audits and drops the user's requests that lapsed or were answered
    /// and not taken within their lifetime.
    fn settle_expired(&self, tx: &mut Tx<'_>) {
        let now = tx.now;
        let (gone, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut tx.rec.approvals)
            .into_iter()
            .partition(|a| a.expires <= now);
        tx.rec.approvals = kept;
        for request in gone {
            if request.state == ApprovalState::Pending {
                tx.audit(AuditKind::ApprovalExpired {
                    login_host: request.host,
                });
            }
        }
    }
}

/// Compares two codes or handles in constant time.
fn same(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// A code unlike the user's others, the number and the three choices, from
/// the random bytes `drawn` (rejection sampling, so every character and
/// number is equally likely).
fn draw(drawn: &[u8], others: &[LoginApproval]) -> Result<(String, u8, [u8; CHOICES]), Error> {
    let alphabet = CODE_ALPHABET.len();
    let unbiased = 256 - 256 % alphabet;
    let mut chars = drawn
        .iter()
        .filter(|b| usize::from(**b) < unbiased)
        .map(|b| CODE_ALPHABET[usize::from(*b) % alphabet] as char);
    let mut numbers = drawn
        .iter()
        .rev()
        .filter(|b| **b < 180)
        .map(|b| 10 + b % 90);
    let exhausted = || Error::Random(RandomError);
    let code = loop {
        let code: String = chars.by_ref().take(CODE_LEN).collect();
        if code.len() != CODE_LEN {
            return Err(exhausted());
        }
        if !others.iter().any(|a| a.code == code) {
            break code;
        }
    };
    let mut choices = [0u8; CHOICES];
    let mut taken = 0;
    for n in numbers.by_ref() {
        if !choices[..taken].contains(&n) {
            choices[taken] = n;
            taken += 1;
            if taken == CHOICES {
                break;
            }
        }
    }
    if taken != CHOICES {
        return Err(exhausted());
    }
    // The first drawn is the right one; the page shows them in order.
    let number = choices[0];
    choices.sort_unstable();
    Ok((code, number, choices))
}
