// The store contract against the provider's own store code: the component's
// conformance build (transpiled into gen-conformance/ with its `store` import
// bound to src/mfa/bridge.mjs, as the shipped build is) runs core's
// testing::store_contract from inside, through bridge.mjs and db.mjs, on the
// database a store file names. The same contract the hosts' stores pass
// natively and through wasmtime. The database must hold no keys under `a`,
// `b`, `e/`, `r` or `s` (a freshly migrated one).
//   node test/store_contract.mjs STORE_FILE SEAL_KEY_FILE
// Run by pam-module/tests/idp.rs, which starts the database.
import { readSealKey, readStoreFile } from '../src/config.mjs';
import { sealKeyCheck } from '../src/mfa/pg.mjs';
import { openStore } from '../src/mfa/bridge.mjs';

const [storeFile, keyFile] = process.argv.slice(2);
if (!storeFile || !keyFile) {
  console.error('usage: node test/store_contract.mjs STORE_FILE SEAL_KEY_FILE');
  process.exit(2);
}
const settings = readStoreFile(storeFile);
settings.sealCheck = sealKeyCheck(readSealKey(keyFile));
openStore(settings);
const { contract } = await import('../gen-conformance/plugin.js');
try {
  contract.checkStore();
} catch (e) {
  console.error(`the store contract is broken: ${e?.payload ?? e?.message ?? e}`);
  process.exit(1);
}
console.log('the store contract holds for the provider\u2019s bridge and database');
process.exit(0);
