import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
/** The collector, exposed at run time (tests run without `--expose-gc`). */
const gc = runInNewContext('gc') as () => void;

/** Heap in use after full collections. */
export function heapAfterGc(): number {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

/** Heap growth (bytes) that survives collection after `work` ran; `keep` holds what the test itself must retain. */
export function retainedBy(work: () => void): number {
  const before = heapAfterGc();
  work();
  return heapAfterGc() - before;
}
