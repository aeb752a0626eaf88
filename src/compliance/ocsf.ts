/**
 * The OCSF event an audit record becomes in `otel-audit export --format
 * ocsf`: an API Activity (class 6003, category 6, Application Activity) of
 * OCSF 1.8.0, the latest released version of the schema
 * (github.com/ocsf/ocsf-schema, `events/application/api_activity.json`).
 * This file holds the schema's numbers and the tables that choose them;
 * ocsf-sql.ts builds each line from them in Postgres.
 */
import type { ActorType, Outcome } from '../contract/values.js';

/** The OCSF version the lines follow (`metadata.version`). */
export const OCSF_VERSION = '1.8.0';

export const OCSF_CATEGORY = { uid: 6, name: 'Application Activity' } as const;
export const OCSF_CLASS = { uid: 6003, name: 'API Activity' } as const;

/** `metadata.product`: the product that logged the event. */
export const OCSF_PRODUCT_NAME = 'otel-audit';
export const OCSF_VENDOR_NAME = 'otel-audit';

/** API Activity's activity_id values; 99 (Other) carries the action's own verb as activity_name. */
export const OCSF_ACTIVITIES = { 1: 'Create', 2: 'Read', 3: 'Update', 4: 'Delete', 99: 'Other' } as const;
export type OcsfActivityId = keyof typeof OCSF_ACTIVITIES;

/**
 * The verb of an action (its last dotted segment: `user.update` → `update`,
 * in any case) chooses the activity; the SDK names actions with these verbs by default
 * (`list` for a collection read).
 */
export const ACTIVITY_BY_VERB: Readonly<Record<string, OcsfActivityId>> = {
  create: 1,
  read: 2,
  list: 2,
  update: 3,
  delete: 4,
};

/** An action with another verb (`build.trigger`) takes the activity of its HTTP method; without either, 99 (Other). */
export const ACTIVITY_BY_METHOD: Readonly<Record<string, OcsfActivityId>> = {
  POST: 1,
  GET: 2,
  HEAD: 2,
  PUT: 3,
  PATCH: 3,
  DELETE: 4,
};

/** `http_request.http_method` takes these values; a record with another method has none. */
export const OCSF_HTTP_METHODS = ['CONNECT', 'DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT', 'TRACE'] as const;

/** `actor.user.type_id` and `type` by actor_type (OCSF user types: 1 User, 4 Service, 99 Other). */
export const USER_TYPES: Readonly<Record<ActorType, { id: number; name: string }>> = {
  user: { id: 1, name: 'User' },
  service: { id: 4, name: 'Service' },
  anonymous: { id: 99, name: 'Anonymous' },
};

/**
 * `status_id`, `status` and `status_detail` by outcome: OCSF knows success
 * and failure; a denied request is a failure whose detail says so.
 */
export const STATUSES: Readonly<Record<Outcome, { id: number; name: string; detail: string | null }>> = {
  success: { id: 1, name: 'Success', detail: null },
  failure: { id: 2, name: 'Failure', detail: null },
  denied: { id: 2, name: 'Failure', detail: 'denied' },
};

/** Every line is informational: an audit record reports what happened, it does not rate it. */
export const OCSF_SEVERITY = { id: 1, name: 'Informational' } as const;

/**
 * OCSF requires `actor.user` and `src_endpoint` to name something. A record
 * without actor id and name is by `anonymous`; one without a client address
 * comes from an `unknown` endpoint.
 */
export const ANONYMOUS_USER_NAME = 'anonymous';
export const UNKNOWN_ENDPOINT_NAME = 'unknown';
