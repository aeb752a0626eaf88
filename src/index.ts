export { startAudit } from './sdk/start.js';
export type { StartAuditOptions, AuditHandle } from './sdk/start.js';
export { AuditSpanProcessor } from './sdk/audit-span-processor.js';
export type { AuditSpanProcessorOptions } from './sdk/audit-span-processor.js';
export { audit } from './sdk/audit-api.js';
export { auditSampler, samplerFromEnv } from './sdk/sampler.js';
export * from './contract/attributes.js';
export type {
  Actor, ActorHookResult, ActorResolver, AuditActorInput, AuditIdValue, AuditLevel, AuditMetaInput, AuditMetaValue,
  AuditOptions, AuditOutcome, AuditRecordInput, AuditRequestInfo, AuditSetInput, RouteRule,
} from './sdk/types.js';
export type { AuditRecord } from './sdk/record.js';
export type { DeliveryStats } from './sdk/delivery/counters.js';
export { startRelay } from './relay/start-relay.js';
export type { RelayHandle, RelayOptions, RelayStats } from './relay/types.js';
export type { OutboxClient, OutboxWriteInput } from './sdk/outbox-types.js';
