/**
 * A bearer token made for one run of a process that serves the viewer on
 * its own rows (`otel-audit demo --serve`, `otel-audit sink --serve` with no
 * token file): random, kept only as its hash, in role audit_auditor (every
 * tenant).
 */
import { randomBytes } from 'node:crypto';
import { tokenHash, type TokenSpec } from './tokens.js';

/** The role of a run token: it reads every tenant. */
export const RUN_TOKEN_ROLE = 'audit_auditor';

export interface RunToken {
  /** The token itself, to hand to the person running the process (`#token=` of the viewer's address). */
  token: string;
  /** What the server is configured with. */
  spec: TokenSpec;
}

/** A new run token named `name`. */
export function makeRunToken(name: string): RunToken {
  const token = randomBytes(24).toString('base64url');
  return { token, spec: { name, sha256: tokenHash(token), role: RUN_TOKEN_ROLE } };
}
