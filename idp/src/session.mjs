// What the provider keeps about its own sessions beside oidc-provider's
// (`accountId`, `amr`, `acr`, `loginTs`): when this session's second factor
// last passed (`mfaAt`), which the component counts for a step-up, and when
// the session was last proven (`validAt`), which the user's record compares
// with the time an admin reset, a lock or a change of factors ended every
// session before it (`sessions-valid-after`).
//
// Stored in the session itself (one field added to the payload the adapter
// keeps), so it ends with the session. A sign-in sets it through its login
// result; the Security page sets it after a change the session made itself.

/** Now, in the engine's seconds. */
export const now = () => BigInt(Math.floor(Date.now() / 1000));

/** Lets oidc-provider's sessions keep our field. */
export function extendSessions(provider) {
  const fields = provider.Session.IN_PAYLOAD;
  if (!fields.includes('planasonix')) {
    Object.defineProperty(provider.Session, 'IN_PAYLOAD', {
      get: () => [...fields, 'planasonix'],
      configurable: true,
    });
  }
  // A finished interaction's login result carries the mark; the session is
  // written after the response (and read by the checks before it).
  provider.on('interaction.ended', (ctx) => {
    const mark = ctx.oidc.result?.login?.planasonix;
    if (mark) ctx.oidc.session.planasonix = mark;
  });
}

/**
 * The mark of a sign-in: `mfaAt` (seconds, or null when no second factor
 * passed in it) and `validAt` (this sign-in's time).
 */
export function mark(mfaAt, at = now()) {
  return { mfaAt: mfaAt === null || mfaAt === undefined ? null : Number(mfaAt), validAt: Number(at) };
}

/** The component's view of a session: when its own second factor passed. */
export function sessionOf(session) {
  const at = session?.planasonix?.mfaAt;
  return { mfaAt: typeof at === 'number' ? BigInt(at) : undefined };
}

/**
 * Whether `session` outlived nothing that ended it: its mark is not older
 * than the user's `sessionsValidAfter` (from the component's status). A
 * session without our mark was not made by our sign-in: not live.
 */
export function live(session, status) {
  const validAt = session?.planasonix?.validAt;
  if (typeof validAt !== 'number') return false;
  return status.sessionsValidAfter === undefined || validAt >= Number(status.sessionsValidAfter);
}

/** After a change this session made itself (it ended every other). */
export async function revalidate(session, { passedMfa = false } = {}) {
  const t = now();
  session.planasonix = mark(passedMfa ? t : session.planasonix?.mfaAt ?? null, t);
  await session.persist();
}
