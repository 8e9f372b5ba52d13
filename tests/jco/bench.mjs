// Component benchmark under Node.js: the component transpiled by jco, with the
// in-memory store of imports.mjs. Enrolls one user, then times N accepted
// logins (one new TOTP step each). Prints JSON.
// Usage: node bench.mjs OUT/plugin.js [N]
import { pathToFileURL } from 'node:url';
import { totp } from './totp.mjs';

const [modulePath, count] = process.argv.slice(2);
const n = Number(count ?? 20000);
const { engine } = await import(pathToFileURL(modulePath).href);

const t0 = 1_800_000_000;
engine.configure('', new Uint8Array(32).fill(7));
const enrollment = engine.beginTotp('alice', BigInt(t0));
engine.confirmTotp('alice', Buffer.from(totp(enrollment.secretBase32, t0)), BigInt(t0));
const ctx = { service: 'idp', remote: undefined, action: undefined };
const logins = [];
for (let i = 0; i < n; i++) {
  const at = t0 + 30 * (i + 1);
  logins.push([Buffer.from(totp(enrollment.secretBase32, at)), BigInt(at)]);
}
const start = process.hrtime.bigint();
for (const [code, at] of logins) {
  const v = engine.verify('alice', code, ctx, at);
  if (v.tag !== 'accepted') throw new Error(`login refused: ${JSON.stringify(v)}`);
}
const us = Number(process.hrtime.bigint() - start) / 1000 / n;
process.stdout.write(JSON.stringify({ jco_verify_us: us, jco_verifies_per_sec: 1e6 / us, logins: n }) + '\n');
