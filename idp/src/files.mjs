// @ts-check
// Reading the files the provider trusts, by the hosts' one rule table
// (native/src/trusted_file.rs), checked against the same shared cases
// (tests/trusted-files.json):
//
//   kind              owner of file and directory   group and others may not
//   setting           root, or the user reading it  write the file or the directory
//   private-setting   root, or the user reading it  read or write the file; write the directory
//   secret            root, or the user reading it  read or write the file; write the directory
//
// The file must be a regular file, opened without following a symbolic link.
// Settings: the policy, the store file, the clients, the configuration, a CA
// file. Secrets: the seal key, the users file (password hashes), the
// database password, client secrets, signing and cookie keys. Whoever can
// write one of these can sign anyone in.
import fs from 'node:fs';
import path from 'node:path';

/** Largest settings or secret file read. */
const MAX_BYTES = 1 << 20;

export class FileError extends Error {}

/** Mode bits group and others must not have, and the fix, by kind. */
const RULES = {
  setting: { forbidden: 0o022, chmod: 'chmod go-w', may: 'write' },
  'private-setting': { forbidden: 0o077, chmod: 'chmod 600', may: 'read or write' },
  secret: { forbidden: 0o077, chmod: 'chmod 600', may: 'read or write' },
};

/**
 * The rule table: what is wrong with a `kind` file (and its directory), as
 * seen (`{ uid, mode, type }`), for a process running as `reader`; null when
 * nothing is. The names are the shared cases': not-regular, owner, mode,
 * directory.
 */
export function check(kind, file, dir, reader) {
  const rule = RULES[kind];
  if (!rule) throw new Error(`no rule for ${kind}`);
  const owned = (uid) => uid === 0 || uid === reader;
  if (file.type !== 'file') return { broken: 'not-regular' };
  if (!owned(file.uid)) return { broken: 'owner', uid: file.uid };
  if (file.mode & rule.forbidden) return { broken: 'mode', mode: file.mode };
  if (dir) {
    if (dir.type !== 'directory' || !owned(dir.uid)) return { broken: 'directory', uid: dir.uid };
    if (dir.mode & 0o022) return { broken: 'directory', mode: dir.mode };
  }
  return null;
}

/** The message for what `check` found, in the hosts' words. */
function untrusted(file, what, kind, found) {
  const rule = RULES[kind];
  const octal = (m) => (m & 0o7777).toString(8).padStart(4, '0');
  const why = {
    'not-regular': 'it is not a regular file (a symbolic link is not followed)',
    owner: `it is owned by uid ${found.uid}, not root or the user reading it (chown root)`,
    mode: `mode ${octal(found.mode ?? 0)} lets group or others ${rule.may} it (${rule.chmod})`,
    directory: found.mode !== undefined
      ? `its directory ${path.dirname(file)} has mode ${octal(found.mode)}: group or others can replace the file (chmod go-w)`
      : `its directory ${path.dirname(file)} is owned by uid ${found.uid}, not root or the user reading it, or is not a directory: its owner can replace the file (chown root)`,
  }[found.broken];
  return new FileError(`${what} ${file} is not trusted: ${why}`);
}

const typeOf = (stat) => (stat.isFile() ? 'file' : stat.isDirectory() ? 'directory' : 'other');

/**
 * Reads `file` as bytes after the checks above. `kind`: setting (the
 * default), private-setting or secret (`secret: true` says the same);
 * `what` names it in messages.
 * @param {string} file
 * @param {{ kind?: 'setting' | 'private-setting' | 'secret', secret?: boolean, what?: string }} [options]
 */
export function readTrusted(file, { kind, secret = false, what = 'file' } = {}) {
  const k = kind ?? (secret ? 'secret' : 'setting');
  const absolute = path.resolve(file);
  let fd;
  try {
    fd = fs.openSync(absolute, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch (e) {
    if (e.code === 'ELOOP') throw untrusted(absolute, what, k, { broken: 'not-regular' });
    throw new FileError(`cannot read ${what} ${absolute}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  }
  try {
    const stat = fs.fstatSync(fd);
    const dstat = fs.statSync(path.dirname(absolute));
    const seen = (s) => ({ uid: s.uid, mode: s.mode & 0o7777, type: typeOf(s) });
    const found = check(k, seen(stat), seen(dstat), process.getuid?.() ?? 0);
    if (found) throw untrusted(absolute, what, k, found);
    if (stat.size > MAX_BYTES) throw new FileError(`${what} ${absolute} is larger than ${MAX_BYTES >> 10} KiB`);
    return fs.readFileSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** [readTrusted] as UTF-8 text. */
export function readTrustedText(file, options) {
  const bytes = readTrusted(file, options);
  const text = new TextDecoder('utf-8', { fatal: true });
  try {
    return text.decode(bytes);
  } catch {
    throw new FileError(`${path.resolve(file)} is not UTF-8`);
  }
}

/** Writes `bytes` to a new file `file` readable by its owner only (never overwrites). */
export function writeSecret(file, bytes) {
  fs.writeFileSync(file, bytes, { mode: 0o600, flag: 'wx' });
}
