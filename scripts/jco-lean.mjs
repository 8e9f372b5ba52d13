#!/usr/bin/env node
// Makes jco's generated glue cheaper per call without changing what it does:
// jco (1.15) emits a `_debugLog` that reads `process.env.JCO_DEBUG` (a call
// into C++) on every import and export call, about a tenth of a verify under
// Node.js. This reads it once, when the module loads. A file without that
// exact definition is left as it is, with a warning (a newer jco).
//   node scripts/jco-lean.mjs OUT/plugin.js
import fs from 'node:fs';

const file = process.argv[2];
const text = fs.readFileSync(file, 'utf8');
const slow = `const _debugLog = (...args) => {
  if (!globalThis?.process?.env?.JCO_DEBUG) { return; }
  console.debug(...args);
}`;
const once = `const _debugLog = globalThis?.process?.env?.JCO_DEBUG
  ? (...args) => { console.debug(...args); }
  : () => {};`;
if (!text.includes(slow)) {
  process.stderr.write(`jco-lean: ${file} has no per-call JCO_DEBUG check; left as it is\n`);
} else {
  fs.writeFileSync(file, text.replace(slow, once));
}
