// @ts-check
// What the provider keeps about its own sessions beside oidc-provider's
// (`accountId`, `amr`, `acr`, `loginTs`): when this session's second factor
// last passed (`mfaAt`), which the component counts for a step-up, and the
// user's session epoch when the session was proven (`epoch`): the record
// counts every admin reset, lock and change of factors
// (`sessions-epoch`), and a session noted at another count is over. A
// count, not a time: a reset in the same second as a sign-in still ends it.
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
 * passed in it), the user's session epoch read before its factors were
 * checked, and whether that second factor was phishing-resistant (a
 * passkey), which a step-up action may require.
 */
export function mark(mfaAt, epoch, phishingResistant = false) {
  const at = mfaAt === null || mfaAt === undefined ? null : Number(mfaAt);
  return { mfaAt: at, epoch: Number(epoch), phr: at !== null && phishingResistant === true };
}

/** The component's view of a session: when its own second factor passed,
 * and the epoch it was last proven live at. */
export function sessionOf(session) {
  return viewOf(session?.planasonix);
}

/** The component's view of a mark (`mark`'s shape). */
export function viewOf(m) {
  const at = m?.mfaAt;
  const epoch = m?.epoch;
  return {
    mfaAt: typeof at === 'number' ? BigInt(at) : undefined,
    epoch: typeof epoch === 'number' ? BigInt(epoch) : undefined,
    phishingResistant: m?.phr === true,
  };
}

/**
 * Whether `session` outlived nothing that ended it: its epoch is the user's
 * (from the component's status). A session without our mark was not made by
 * our sign-in: not live.
 */
export function live(session, status) {
  const epoch = session?.planasonix?.epoch;
  return typeof epoch === 'number' && epoch === Number(status.sessionsEpoch);
}

/**
 * After a change this session made itself, which ended every session at
 * `before` (the epoch read before the change): this one goes on at the next
 * epoch. Had anything else ended them meanwhile, it is over too.
 */
export async function revalidate(session, before, { passedMfa = false } = {}) {
  const kept = session.planasonix;
  session.planasonix = passedMfa
    ? mark(now(), Number(before) + 1)
    : mark(kept?.mfaAt ?? null, Number(before) + 1, kept?.phr);
  await session.persist();
}
