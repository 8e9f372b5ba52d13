// @ts-check
// The MFA worker: one instance of the Planasonix MFA component (transpiled
// by jco), configured with the organisation's policy and seal key, serving
// the engine's operations one at a time for the HTTP thread (engine.mjs).
// Its imports are the shared store (bridge.mjs) and delivery (delivery.mjs).
import { parentPort, workerData } from 'node:worker_threads';
import { openStore } from './bridge.mjs';
import { setCommands } from './delivery.mjs';

openStore(workerData.store);
setCommands(workerData.delivery);

let engine;
try {
  ({ engine } = await import(workerData.component));
  engine.configure(workerData.policy, workerData.sealKey);
} catch (e) {
  parentPort.postMessage({ ready: false, error: e?.payload ?? { tag: 'load', val: String(e?.message ?? e) } });
  process.exit(1);
}
parentPort.postMessage({ ready: true });

parentPort.on('message', ({ id, op, args }) => {
  if (typeof engine[op] !== 'function' || op === 'configure') {
    parentPort.postMessage({ id, error: { tag: 'internal', val: `no operation ${op}` } });
    return;
  }
  try {
    parentPort.postMessage({ id, value: engine[op](...args) });
  } catch (e) {
    if (e?.payload !== undefined) {
      // The component's own error variant: an answer, not a failure.
      parentPort.postMessage({ id, error: e.payload });
      return;
    }
    // A trap: this instance must not be used again; the HTTP thread starts
    // a fresh worker and the operation fails closed.
    parentPort.postMessage({ id, trap: String(e?.message ?? e) });
    process.exit(1);
  }
});
