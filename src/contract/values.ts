/**
 * The values a record's fields may take, and the rule that derives its
 * outcome. The SDK tags spans with them and the sink checks them.
 */

/** `audit.outcome`: `failure` for 5xx and exceptions, `denied` for 401/403. */
export const OUTCOMES = ['success', 'failure', 'denied'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** `audit.level`: how much a record holds (`minimal` holds no request). */
export const LEVELS = ['full', 'basic', 'minimal'] as const;
export type Level = (typeof LEVELS)[number];

/** Levels a route rule may name: a record level, or `ignore` (no record at all). */
export const LEVEL_RULES = [...LEVELS, 'ignore'] as const;
export type LevelRule = (typeof LEVEL_RULES)[number];

/** `audit.actor.type`. */
export const ACTOR_TYPES = ['user', 'service', 'anonymous'] as const;
export type ActorType = (typeof ACTOR_TYPES)[number];

/** A value that `JSON.stringify` renders losslessly. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * The outcome of an operation that names none: `denied` for 401 and 403,
 * `failure` when it failed (an exception, or an error span status) or its
 * status code is 400 or above, else `success`.
 *
 * @param statusCode the HTTP response status code, when one was sent
 * @param failed the operation threw or its span status is ERROR
 */
export function outcomeOf(statusCode: number | null | undefined, failed: boolean): Outcome {
  if (statusCode === 401 || statusCode === 403) return 'denied';
  if (failed || (statusCode !== null && statusCode !== undefined && statusCode >= 400)) return 'failure';
  return 'success';
}

/**
 * What a record of a level holds besides who did what to which resource,
 * when, and with what outcome.
 */
export interface LevelContents {
  /** The record carries `audit.request` (the query parameters at least). */
  readonly request: boolean;
  /** `audit.request` carries the request body. */
  readonly body: boolean;
  /** The record carries change values, `audit.meta.*` and the user agent. */
  readonly details: boolean;
}

const CONTENTS_OF: Readonly<Record<LevelRule, LevelContents>> = {
  full: { request: true, body: true, details: true },
  basic: { request: true, body: false, details: true },
  minimal: { request: false, body: false, details: false },
  ignore: { request: false, body: false, details: false },
};

/**
 * The rule of levels: `full` holds everything, `basic` all but the request
 * body, `minimal` only who/what/when/outcome. A record without a level (a
 * manual record outside any request) holds what `full` holds; `ignore`
 * holds nothing (there is no record).
 */
export function levelContents(level: LevelRule | undefined): LevelContents {
  return CONTENTS_OF[level ?? 'full'];
}
