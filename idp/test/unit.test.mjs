// Unit tests of the provider's pieces that need no browser, database or
// component: the address a limit counts, CSRF tokens, escaping, times in
// words, and the case tables and files both doors share (SQL, messages,
// trusted files, store files, seal key texts, delivery commands).
// Run by `npm test` in idp/ (scripts/test.sh runs it).
import test from 'node:test';
import assert from 'node:assert/strict';
import { addressKey } from '../src/throttle.mjs';
import { BadRequest, Csrf } from '../src/http.mjs';
import { fromNow, moment } from '../src/messages.mjs';

test('a limit counts an IPv4 address, and an IPv6 /64 as one', () => {
  assert.equal(addressKey('203.0.113.7'), '203.0.113.7');
  assert.equal(addressKey('::ffff:203.0.113.7'), '203.0.113.7');
  assert.equal(addressKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
  assert.equal(addressKey('2001:0db8:0001:0002:ffff:ffff:ffff:ffff'), '2001:db8:1:2::/64');
  assert.equal(addressKey('2001:db8::'), '2001:db8:0:0::/64');
  assert.equal(addressKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
  for (const bad of [undefined, '', 'localhost', '1.2.3.4, 5.6.7.8', '<script>']) {
    assert.equal(addressKey(bad), 'unknown');
  }
});

/** A request's cookies and form, as Koa gives them to http.mjs. */
function request({ secure = true, cookies = {} } = {}) {
  const jar = new Map(Object.entries(cookies));
  return {
    secure,
    jar,
    cookies: {
      get: (name) => jar.get(name),
      set: (name, value) => jar.set(name, value),
    },
  };
}

test('a CSRF token is bound to the browser and to what the form acts on', () => {
  const csrf = new Csrf(new Uint8Array(32).fill(7));
  const browser = request();
  const token = csrf.token(browser, 'session:abc');
  assert.ok(browser.jar.has('__Host-planasonix.csrf'), 'over https the cookie is __Host- prefixed');
  csrf.check(browser, new Map([['csrf', token]]), 'session:abc');
  const refused = (ctx, sent, scope) => assert.throws(
    () => csrf.check(ctx, new Map([['csrf', sent]]), scope),
    (e) => e instanceof BadRequest && e.status === 403,
  );
  refused(browser, token, 'session:other');
  refused(browser, token, 'interaction:abc');
  refused(browser, '', 'session:abc');
  // A cookie planted by a sibling site, with a token of the attacker's
  // choosing: it is not an HMAC under the fleet's key.
  const planted = 'A'.repeat(43);
  refused(request({ cookies: { '__Host-planasonix.csrf': planted } }), planted, 'session:abc');
  // Another process with the same seal key checks this one's tokens.
  new Csrf(new Uint8Array(32).fill(7)).check(browser, new Map([['csrf', token]]), 'session:abc');
  refused(browser, new Csrf(new Uint8Array(32).fill(8)).token(browser, 'session:abc'), 'session:abc');
  // Plain http on loopback: no sibling exists, and __Host- needs https.
  const local = request({ secure: false });
  csrf.token(local, 'x');
  assert.ok(local.jar.has('planasonix.csrf'));
});

test('times read in words, in UTC, with how far off', () => {
  const now = Date.UTC(2026, 11, 7, 15, 13, 43);
  assert.equal(fromNow(now / 1000 + 15 * 60, now), 'in 15 minutes');
  assert.equal(fromNow(now / 1000 + 7 * 86_400, now), 'in 7 days');
  assert.equal(fromNow(now / 1000 - 3 * 3600, now), '3 hours ago');
  assert.equal(fromNow(now / 1000 + 1, now), 'in 1 second');
  const soon = String(moment(BigInt(now / 1000 + 15 * 60), now));
  assert.equal(soon, '<time datetime="2026-12-07T15:28:43Z" title="2026-12-07T15:28:43Z" data-local="time">15:28 UTC</time> (in 15 minutes)');
  const later = String(moment(BigInt(now / 1000 + 7 * 86_400), now));
  assert.match(later, />Monday,? 14 December 2026 at 15:13 UTC<\/time> \(in 7 days\)$/);
});

test('the store client never answers a request for the password in clear or as MD5', async () => {
  const { StrictClient } = await import('../src/mfa/pg.mjs');
  const net = await import('node:net');
  const requests = {
    clear: Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 3]),
    md5: Buffer.from([0x52, 0, 0, 0, 12, 0, 0, 0, 5, 1, 2, 3, 4]),
  };
  for (const [kind, request] of Object.entries(requests)) {
    let received = Buffer.alloc(0);
    // A listener where the database should be: it asks for the password.
    const server = net.createServer((c) => {
      c.once('data', () => c.write(request));
      c.on('data', (d) => { received = Buffer.concat([received, d]); });
      c.on('error', () => {});
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    const client = new StrictClient({
      host: '127.0.0.1', port: server.address().port, user: 'planasonix', database: 'planasonix', password: 'the-roles-password', ssl: false,
    });
    await assert.rejects(client.connect(), kind === 'clear' ? /asked for the password in clear/ : /as MD5/);
    await new Promise((r) => setTimeout(r, 100));
    server.close();
    assert.ok(!received.toString('latin1').includes('the-roles-password'), `the password reached the listener (${kind})`);
    assert.ok(!received.toString('latin1').includes('md5'), `an MD5 answer reached the listener (${kind})`);
  }
});

test('a socket store trusts only a directory of root or the database user that others cannot write', async () => {
  const { checkSocket } = await import('../src/mfa/pg.mjs');
  const fs = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'planasonix-socket-'));
  try {
    const me = os.userInfo().username;
    const settings = { hosts: [dir], port: 5432, socketOwner: me };
    fs.chmodSync(dir, 0o755);
    checkSocket(settings);
    fs.chmodSync(dir, 0o777);
    assert.throws(() => checkSocket(settings), /writable by others/);
    fs.chmodSync(dir, 0o755);
    if (process.getuid() === 0) {
      fs.chownSync(dir, 65534, 65534);
      assert.throws(() => checkSocket(settings), /is owned by uid 65534/);
      fs.chownSync(dir, 0, 0);
    }
    const link = `${dir}.link`;
    fs.symlinkSync(dir, link);
    assert.throws(() => checkSocket({ ...settings, hosts: [link] }), /not a directory/);
    fs.unlinkSync(link);
    // A plain file where the socket should be.
    fs.writeFileSync(path.join(dir, '.s.PGSQL.5432'), '');
    assert.throws(() => checkSocket(settings), /not a socket of the database's user/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('trusted files follow the hosts\u2019 rule table, case for case', async () => {
  const { check } = await import('../src/files.mjs');
  const fs = await import('node:fs');
  const table = JSON.parse(fs.readFileSync(new URL('../../tests/trusted-files.json', import.meta.url), 'utf8'));
  assert.ok(table.cases.length >= 20, 'the table lost its cases');
  const seen = (v, type) => ({ uid: v.uid, mode: parseInt(v.mode, 8), type: v.type ?? type });
  for (const c of table.cases) {
    const found = check(c.kind, seen(c.file, 'file'), seen(c.dir, 'directory'), table.reader);
    assert.equal(found?.broken ?? 'ok', c.expect, JSON.stringify(c));
  }
});

test('a trusted file is read without following a symbolic link, and named in its refusal', async () => {
  const { readTrustedText } = await import('../src/files.mjs');
  const fs = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'planasonix-files-'));
  try {
    fs.chmodSync(dir, 0o755);
    const file = path.join(dir, 'policy.toml');
    fs.writeFileSync(file, 'x = 1\n', { mode: 0o644 });
    assert.equal(readTrustedText(file, { what: 'policy' }), 'x = 1\n');
    fs.symlinkSync(file, path.join(dir, 'link.toml'));
    assert.throws(() => readTrustedText(path.join(dir, 'link.toml'), { what: 'policy' }), /policy .* is not trusted: it is not a regular file/);
    assert.throws(() => readTrustedText(file, { secret: true, what: 'seal key' }), /seal key .* mode 0644 lets group or others read or write it \(chmod 600\)/);
    fs.chmodSync(dir, 0o777);
    assert.throws(() => readTrustedText(file, { what: 'policy' }), /its directory .* has mode 0777/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("the seal key's check value is the hosts' (the vector core's seal.rs test checks)", async () => {
  const { sealKeyCheck } = await import('../src/mfa/pg.mjs');
  const key = new Uint8Array(32).map((_, i) => i);
  assert.equal(sealKeyCheck(key), 'planasonix-seal-key-check-v1 tZ9ZmiZCFfGsT5Glo9Ta7MXak45ClSZo1T2E8qIusyo=');
  assert.notEqual(sealKeyCheck(new Uint8Array(32)), sealKeyCheck(key));
});

test('the provider runs the hosts\u2019 statements, from the one SQL file both sides load', async () => {
  const { SQL, SCHEMA_VERSION, parseSql } = await import('../src/mfa/sql.mjs');
  assert.ok(Number.isInteger(SCHEMA_VERSION) && SCHEMA_VERSION >= 2);
  assert.equal(SQL.keys, 'SELECT key FROM planasonix_records WHERE key LIKE $1 ORDER BY key');
  assert.match(SQL.update_and_add, /^WITH swapped AS \(\n {4}UPDATE planasonix_records/);
  assert.ok(!SQL.schema_2.endsWith(';') && SQL.schema_2.includes(';\nCREATE INDEX'), 'only the final semicolon goes');
  assert.ok(Object.isFrozen(SQL));
  // The rules the hosts' build script enforces, refused here the same way.
  const refused = [
    ['-- name: get\nSELECT 1', /no `-- schema-version:` line/],
    ['-- schema-version: 0\n', /line 1: schema-version "0" is not a positive integer/],
    ['-- schema-version: 2\nSELECT 1', /line 2: SQL before the first/],
    ['-- schema-version: 2\n-- name: Get\nSELECT 1', /line 2: statement name "Get" is not lower_snake_case/],
    ['-- schema-version: 2\n-- name: a\nSELECT 1;\n-- name: a\nSELECT 2', /line 4: statement a is named twice/],
    ['-- schema-version: 2\n-- name: a\n-- only a comment\n', /statement a is empty/],
    ['-- schema-version: 2\n-- name: a\nSELECT 1\n-- schema-version: 3', /line 4: schema-version must come once/],
  ];
  for (const [text, error] of refused) assert.throws(() => parseSql(text), error, text);
});

test('no SQL lives outside service/store.sql, in the provider or the hosts\u2019 service', async () => {
  const fs = await import('node:fs');
  const path = await import('node:path');
  const root = new URL('../../', import.meta.url).pathname;
  const statement = /\b(SELECT|INSERT INTO|UPDATE|DELETE FROM|CREATE (TABLE|INDEX)|LOCK TABLE)\b[^\n]*\bplanasonix_(records|schema|throttle)\b/;
  const offenders = [];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (/\.(mjs|js|rs)$/.test(entry.name)) {
        fs.readFileSync(file, 'utf8').split('\n').forEach((line, n) => {
          const code = line.replace(/\/\/.*$/, '');
          if (statement.test(code)) offenders.push(`${path.relative(root, file)}:${n + 1}: ${line.trim()}`);
        });
      }
    }
  };
  walk(path.join(root, 'idp/src'));
  walk(path.join(root, 'service/src'));
  assert.deepEqual(offenders, []);
});

test('the sentences both doors show come from the one catalogue, filled and escaped', async () => {
  const say = await import('../src/messages.mjs');
  const fs = await import('node:fs');
  const catalogue = say.parseCatalogue(fs.readFileSync(say.CATALOGUE_FILE, 'utf8'));
  // The PAM module's words (pam-module/src/flow/tests.rs asserts them there).
  assert.equal(String(say.wrongCode(4)), 'Wrong code. 4 more wrong codes lock second-factor sign-in.');
  assert.equal(String(say.recoveryAccepted(7)), 'Recovery code accepted. 7 recovery codes left.');
  assert.equal(String(say.recoveryAccepted(3)), 'Recovery code accepted. 3 recovery codes left. Generate a new set soon.');
  assert.equal(say.UNAVAILABLE, catalogue.get('unavailable').parts[0]);
  // A time keeps its markup; anything else from outside is escaped, and so is the text.
  assert.match(String(say.lockedUntil(1_800_000_000n)), /^Too many wrong codes: second-factor sign-in is locked until <time datetime="2027-01-15T08:00:00Z"/);
  assert.equal(String(say.smsSent('+44<script>')), 'Code sent by SMS to +44&lt;script&gt;.');
  assert.equal(String(say.stepUp('"sudo"')), '&quot;sudo&quot; needs a recent second factor.');
  assert.match(String(say.clockBehind(0n)), /^This server&#39;s clock is behind/);
  // The rules core/build.rs enforces, refused here the same way.
  const refused = [
    ['wrong-code Wrong code.', /line 1: not `name = text`/],
    ['Wrong_Code = x', /line 1: message name "Wrong_Code" is not kebab-case/],
    ['a = x\n# c\na = y', /line 3: message a is named twice/],
    ['a = locked until {Until}', /line 1: placeholder \{Until\} is not lower_snake_case/],
    ['a = locked until {until', /line 1: a brace without its pair/],
    ['a = locked until until}', /line 1: a brace without its pair/],
  ];
  for (const [text, error] of refused) assert.throws(() => say.parseCatalogue(text), error, text);
});

test('the store file is parsed by the hosts\u2019 rules, case for case', async () => {
  const { parseStoreFile, StoreFileError } = await import('../src/store_file.mjs');
  const fs = await import('node:fs');
  const table = JSON.parse(fs.readFileSync(new URL('../../tests/store-files.json', import.meta.url), 'utf8'));
  assert.ok(table.cases.length >= 30, 'the table lost its cases');
  for (const c of table.cases) {
    let got;
    let parsed = null;
    try {
      parsed = parseStoreFile(c.toml);
      got = parsed.kind === 'sled' ? 'NotShared' : 'ok';
    } catch (e) {
      assert.ok(e instanceof StoreFileError, `${c.why}: ${e}`);
      got = e.kind;
    }
    assert.equal(got, c.provider ?? c.expect, c.why);
    if (c.settings) {
      const have = {
        hosts: parsed.hosts, port: parsed.port, database: parsed.database, user: parsed.user, tls: parsed.tls,
        socket_owner: parsed.socketOwner, connect_timeout: parsed.connectTimeout, statement_timeout: parsed.statementTimeout, pool_size: parsed.poolSize,
      };
      for (const [key, value] of Object.entries(c.settings)) assert.deepEqual(have[key], value, `${c.why}: ${key}`);
    }
  }
});

test('the seal key file is read by core\u2019s rules, case for case, to the same check value', async () => {
  const { parseSealKeyText } = await import('../src/config.mjs');
  const { sealKeyCheck } = await import('../src/mfa/pg.mjs');
  const fs = await import('node:fs');
  const table = JSON.parse(fs.readFileSync(new URL('../../tests/seal-key-texts.json', import.meta.url), 'utf8'));
  assert.ok(table.cases.length >= 12, 'the table lost its cases');
  for (const c of table.cases) {
    const key = parseSealKeyText(c.text);
    if (c.expect === 'ok') {
      assert.ok(key !== null, c.why);
      assert.equal(sealKeyCheck(key), c.check, c.why);
    } else {
      assert.equal(key, null, c.why);
    }
  }
});

test('the delivery commands are run and judged by the hosts\u2019 contract, case for case', async () => {
  const { delivery, setCommands } = await import('../src/mfa/delivery.mjs');
  const fs = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const table = JSON.parse(fs.readFileSync(new URL('../../tests/delivery-commands.json', import.meta.url), 'utf8'));
  assert.ok(table.cases.length >= 8, 'the table lost its cases');
  const [to, text, user] = ['+447700900123', 'Your code is 123456', 'alice'];
  const notice = 'A second factor was added to your account.';
  for (const [n, c] of table.cases.entries()) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'planasonix-delivery-'));
    try {
      const out = path.join(dir, 'out');
      fs.mkdirSync(out);
      const program = path.join(dir, `case-${n}`);
      fs.writeFileSync(program, `#!/bin/sh\n${table.prologue.replaceAll('{out}', out)}\n${c.script}\n`, { mode: 0o700 });
      const timeout = c.timeout_ms ?? 5000;
      setCommands({ sms: program, smsStdin: c.sms_input === 'stdin', notice: program, smsTimeoutMs: timeout, noticeTimeoutMs: timeout });
      const body = c.message === 'sms' ? text : notice;
      let got = 'sent';
      try {
        if (c.message === 'sms') delivery.sendSms(to, text);
        else delivery.sendNotice(user, notice);
      } catch (e) {
        got = e.tag;
      }
      assert.equal(got, c.expect, c.why);
      const fill = (t) => t.replaceAll('{to}', to).replaceAll('{user}', user).replaceAll('{text}', body);
      const read = (name) => fs.readFileSync(path.join(out, name), 'utf8');
      if (c.argv) assert.equal(read('argv'), c.argv.map((a) => `${fill(a)}\n`).join(''), c.why);
      if (c.stdin !== undefined) assert.equal(read('stdin'), fill(c.stdin), c.why);
      if (c.env) {
        const seen = read('env').split('\n');
        for (const [name, value] of Object.entries(c.env)) assert.ok(seen.includes(`${name}=${value}`), `${c.why}: ${name}`);
        for (const name of c.env_absent) assert.ok(!seen.some((l) => l.startsWith(`${name}=`)), `${c.why}: ${name}`);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
});

test('every value from outside is escaped; only markup built by html stays markup', async () => {
  const { esc, html } = await import('../src/html.mjs');
  const hostile = `<script>alert(1)</script>"' onmouseover=x &amp;`;
  assert.equal(esc(hostile), '&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39; onmouseover=x &amp;amp;');
  assert.equal(esc(null), '');
  assert.equal(esc(42), '42');
  const name = '"><img src=x onerror=alert(1)>';
  const page = String(html`<p title="${name}">${name}</p>`);
  assert.ok(!page.includes('<img'), page);
  assert.equal(page, '<p title="&quot;&gt;&lt;img src=x onerror=alert(1)&gt;">&quot;&gt;&lt;img src=x onerror=alert(1)&gt;</p>');
  // Composed markup is kept; arrays are joined; null, undefined and false are nothing.
  const inner = html`<b>${'<i>'}</b>`;
  assert.equal(String(html`<div>${inner}${[html`<br>`, '<br>']}${null}${undefined}${false}</div>`), '<div><b>&lt;i&gt;</b><br>&lt;br&gt;</div>');
  // A string that looks like markup is still text, however it arrives.
  assert.equal(String(html`${{ toString: () => '<x>' }}`), '&lt;x&gt;');
});

test('the approval page offers the three numbers as buttons and escapes what the login says', async () => {
  const { approveChoose } = await import('../src/pages.mjs');
  const page = approveChoose({
    csrf: 't',
    user: 'fay',
    code: 'A7K-29Q',
    // As the component gives it: `list<u8>` is a Uint8Array.
    view: { host: 'db-7<script>x</script>', service: 'sshd', remote: undefined, created: 1_800_000_000n, expires: 1_800_000_120n, choices: Uint8Array.from([12, 47, 93]), phishingResistant: false },
  });
  const buttons = [...page.matchAll(/<button type="submit" name="answer" value="(\d+)" class="number">(\d+)<\/button>/g)];
  assert.deepEqual(buttons.map((b) => b[1]), ['12', '47', '93']);
  assert.match(page, /db-7&lt;script&gt;x&lt;\/script&gt;/);
  assert.doesNotMatch(page, /<script>x/);
  assert.match(page, /<dt>From<\/dt><dd>not known<\/dd>/);
  assert.match(page, /value="not-me"/);
});
