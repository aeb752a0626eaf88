/**
 * Audit attribute names (namespace `audit.`). These names are part of the
 * public contract: span attributes, OTLP log record attributes and, at the
 * sink, column sources all use them.
 */
export const ATTR_AUDIT_ACTOR_ID = 'audit.actor.id';
export const ATTR_AUDIT_ACTOR_NAME = 'audit.actor.name';
export const ATTR_AUDIT_ACTOR_TYPE = 'audit.actor.type';
export const ATTR_AUDIT_TENANT_ID = 'audit.tenant.id';
export const ATTR_AUDIT_ACTION = 'audit.action';
export const ATTR_AUDIT_RESOURCE_TYPE = 'audit.resource.type';
export const ATTR_AUDIT_RESOURCE_ID = 'audit.resource.id';
export const ATTR_AUDIT_OUTCOME = 'audit.outcome';
export const ATTR_AUDIT_MODULE = 'audit.module';
export const ATTR_AUDIT_LEVEL = 'audit.level';
export const ATTR_AUDIT_REQUEST = 'audit.request';
export const ATTR_AUDIT_CHANGE_BEFORE = 'audit.change.before';
export const ATTR_AUDIT_CHANGE_AFTER = 'audit.change.after';
/** Prefix of free metadata keys: `audit.meta.<key>`. */
export const ATTR_AUDIT_META_PREFIX = 'audit.meta.';
/** Random id of the emitting process, new at every start. */
export const ATTR_AUDIT_EMITTER_ID = 'audit.emitter.id';
/** 1, 2, 3, ... per emitter: lets the sink prove that nothing went missing. */
export const ATTR_AUDIT_EMITTER_SEQ = 'audit.emitter.seq';
/** Error message of a failed operation (exception or 5xx). */
export const ATTR_AUDIT_ERROR_MESSAGE = 'audit.error.message';
/** Set to true on a record flushed before its trace ended (timeout, memory bound, shutdown). */
export const ATTR_AUDIT_INCOMPLETE = 'audit.incomplete';
/** Set to true on a record whose connection closed before the response was complete (outcome `failure`, also `audit.incomplete`). */
export const ATTR_AUDIT_ABORTED = 'audit.aborted';
/** Number of manual API calls (`audit.record`/`audit.set`) of the operation ignored past the per-operation bound. */
export const ATTR_AUDIT_MANUAL_IGNORED = 'audit.manual.ignored';
/** Wall-clock duration of the operation in milliseconds. */
export const ATTR_AUDIT_DURATION_MS = 'audit.duration_ms';
/** Id (uuid) of the transactional outbox row that holds the operation's change values. */
export const ATTR_AUDIT_OUTBOX_ID = 'audit.outbox.id';
/** Which path a record came by: `outbox` (the relay), `request` or `request+outbox` (written by the sink). */
export const ATTR_AUDIT_ORIGIN = 'audit.origin';

/** Event name of every audit log record on the wire. */
export const AUDIT_EVENT_NAME = 'audit';
/** Instrumentation scope of audit log records. */
export const AUDIT_SCOPE_NAME = 'otel-audit';

/** Semantic-convention attributes the records carry (read, never duplicated under audit.*). */
export const ATTR_HTTP_REQUEST_METHOD = 'http.request.method';
export const ATTR_HTTP_ROUTE = 'http.route';
export const ATTR_URL_PATH = 'url.path';
export const ATTR_HTTP_RESPONSE_STATUS_CODE = 'http.response.status_code';
export const ATTR_CLIENT_ADDRESS = 'client.address';
export const ATTR_USER_AGENT_ORIGINAL = 'user_agent.original';
export const ATTR_SERVICE_NAME = 'service.name';

/**
 * Prefix of what the page said about the user interaction that caused the
 * call (`audit.ui.label`, `audit.ui.element`, `audit.ui.event`), read from
 * the request's W3C baggage entries of the same names.
 */
export const ATTR_AUDIT_UI_PREFIX = 'audit.ui.';
/** Label of the element the user activated: its aria-label, else its trimmed text (the browser entry keeps 64 characters). */
export const ATTR_AUDIT_UI_LABEL = 'audit.ui.label';
/** The element: tag name and id, e.g. `button#delete-user`. */
export const ATTR_AUDIT_UI_ELEMENT = 'audit.ui.element';
/** The event type, e.g. `click`. */
export const ATTR_AUDIT_UI_EVENT = 'audit.ui.event';
