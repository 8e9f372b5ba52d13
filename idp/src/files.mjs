// Reading the files the provider trusts, checked as the hosts check theirs:
// settings (policy, store file, users, clients) must be regular files that
// only their owner (root or this provider's user) can change, in a
// directory the same is true of; secrets (seal key, database password,
// client secrets, signing keys) must in addition be unreadable by group and
// others. Whoever can write one of these can sign anyone in.
import fs from 'node:fs';
import path from 'node:path';

/** Largest settings or secret file read. */
const MAX_BYTES = 1 << 20;

export class FileError extends Error {}

function owners() {
  const me = process.getuid?.() ?? 0;
  return me === 0 ? [0] : [0, me];
}

function checkOwnerAndMode(file, stat, { secret }) {
  if (!owners().includes(stat.uid)) {
    throw new FileError(`${file} is not trusted: it is owned by uid ${stat.uid}, not root or this provider's user (chown)`);
  }
  const mode = stat.mode & 0o7777;
  if (mode & 0o022) {
    throw new FileError(`${file} is not trusted: mode ${mode.toString(8).padStart(4, '0')} lets group or others change it (chmod go-w)`);
  }
  if (secret && mode & 0o077) {
    throw new FileError(`${file} is not trusted: mode ${mode.toString(8).padStart(4, '0')} lets group or others read a secret (chmod 600)`);
  }
}

/** Reads `file` as bytes after the checks above (`secret`: also unreadable by others). */
export function readTrusted(file, { secret = false } = {}) {
  const absolute = path.resolve(file);
  let fd;
  try {
    fd = fs.openSync(absolute, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch (e) {
    if (e.code === 'ELOOP') throw new FileError(`${absolute} is not trusted: it is a symbolic link`);
    throw new FileError(`cannot read ${absolute}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw new FileError(`${absolute} is not trusted: it is not a regular file`);
    checkOwnerAndMode(absolute, stat, { secret });
    const dir = path.dirname(absolute);
    const dstat = fs.statSync(dir);
    if (!owners().includes(dstat.uid) || dstat.mode & 0o022) {
      throw new FileError(`${absolute} is not trusted: its directory ${dir} may be changed by others`);
    }
    if (stat.size > MAX_BYTES) throw new FileError(`${absolute} is larger than ${MAX_BYTES >> 10} KiB`);
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
