/**
 * `otel-audit/browser`: links what a user clicked in a web page to the API
 * calls it caused (W3C trace context and `audit.ui.*` baggage).
 */
export { startClickAudit } from './start.js';
export type { ClickAuditHandle, ClickAuditOptions } from './start.js';
export { ClickTracker } from './click-tracker.js';
export type { ActiveClick, ClickTrackerOptions } from './click-tracker.js';
export { ClickContextManager } from './click-context-manager.js';
export { UiBaggagePropagator } from './ui-baggage-propagator.js';
export { labelOf, elementName, uiDetails, MAX_ELEMENT_CHARS, MAX_LABEL_CHARS } from './element-details.js';
export type { UiDetails } from './element-details.js';
