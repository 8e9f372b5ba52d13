// @ts-check
// The approval pages: a terminal login (SSH, sudo) waiting for its user to
// approve it here, with number matching (the policy's `[approval]`). The
// user, signed in (and, for a request, with a second factor within the
// built-in `approve-login` step-up age), types the code the terminal shows,
// sees who asks (host, service, address, time) and picks the terminal's
// number among three, or says "This wasn't me". Every rule is the
// component's: the request is looked up only among the signed-in user's
// own, the number and the sign-in are checked there, and the answer is
// final. This file carries forms to it and its answers back.
import * as pages from './pages.mjs';
import * as say from './messages.mjs';
import { seeOther, sendPage } from './http.mjs';
import { errorLine } from './mfa/engine.mjs';
import { now, sessionOf } from './session.mjs';

/** The step-up action (built into every policy) guarding an answer. */
export const APPROVE = 'approve-login';

/** Longest code field taken (a code is 6 characters, shown as 7). */
const MAX_CODE = 16;

/** The typed code, bounded: what the component then checks. */
function typedCode(fields) {
  return String(fields.get('code') ?? '').slice(0, MAX_CODE);
}

/**
 * @param {any} security the Security pages' object (sign-in, step-up, pending notices)
 * @param {any} ctx
 * @param {any} me
 * @param {Map<string, string>} fields the posted form, already CSRF-checked (empty for GET)
 */
export async function approvePage(security, ctx, me, fields) {
  const p = ctx.path;
  const mfa = security.mfa;
  const user = me.user.name;
  if (ctx.method === 'GET') {
    const kept = security.pendingOf(me.uid).approveCode ?? '';
    const code = String(ctx.query.code ?? kept).slice(0, MAX_CODE);
    return sendPage(ctx, pages.approveCode({ csrf: me.csrf, user, code, notice: security.notice(me) }));
  }
  const code = typedCode(fields);
  // A second factor recent enough before anything about a login is shown;
  // the code is kept for the page this comes back to.
  security.setPending(me.uid, { approveCode: code });
  if (await security.refused(ctx, me, APPROVE, 'approve')) return true;
  if (p === '/approve/code') {
    const { value: view, error } = await mfa.approvalRequest(user, code, now());
    if (error) return failed(security, ctx, me, error);
    return sendPage(ctx, pages.approveChoose({ csrf: me.csrf, user, code, view }));
  }
  // `/approve/answer`
  const picked = String(fields.get('answer') ?? '');
  const answer = picked === 'not-me'
    ? { tag: 'not-me' }
    : /^[1-9][0-9]$/.test(picked) ? { tag: 'number', val: Number(picked) } : null;
  if (answer === null) return failed(security, ctx, me, { tag: 'input', val: 'no answer' });
  const session = sessionOf(me.session);
  const amr = Array.isArray(me.session.amr) ? me.session.amr.map(String) : [];
  const { value: answered, error } = await mfa.answerApproval(user, code, /** @type {any} */ (answer), session, amr, now());
  if (error) return failed(security, ctx, me, error);
  security.setPending(me.uid, { approveCode: '' });
  security.log(`approval of a login of ${JSON.stringify(user)}: ${answered}`);
  return sendPage(ctx, pages.approveDone({ user, answered }));
}

/** An error from the component: back to the code page, saying why. */
function failed(security, ctx, me, error) {
  if (error.tag !== 'approval' && error.tag !== 'input') {
    security.log(`approval page of ${JSON.stringify(me.user.name)}: ${errorLine(error)}`);
  }
  if (error.tag === 'approval' && error.val.tag === 'stale-sign-in') return security.signIn(ctx, 'approve', APPROVE);
  security.setPending(me.uid, { notice: { kind: 'error', text: say.approvalErrorText(error) } });
  seeOther(ctx, '/approve');
  return true;
}
