/**
 * Canonical JSON is part of the record contract: `contract/canonical.ts`.
 * This re-export serves the importers that still name this path.
 */
export { canonicalJson } from '../contract/canonical.js';
