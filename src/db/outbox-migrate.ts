/**
 * The transactional outbox's own schema, `audit_outbox`, in the business
 * database: its forward-only migrations (`src/db/outbox-migrations/`) and
 * tracking table `audit_outbox.schema_migrations`, separate from the audit
 * database's.
 */
import { assetPath } from '../assets.js';
import type { Database } from './database.js';
import { migrate, type MigrateOptions } from './migrate.js';

/** Schema of the outbox in the business database. */
export const OUTBOX_SCHEMA = 'audit_outbox';

/**
 * Key of the advisory lock held while the outbox schema migrates: the ASCII
 * bytes of "otloutbx" as a 64-bit integer (another lock than the audit
 * schema's, which may live in the same database).
 */
export const OUTBOX_LOCK_KEY = '8031163261476168312';

/** Apply the pending outbox migrations (two processes at once are safe). */
export function migrateOutbox(db: Database, options: Pick<MigrateOptions, 'log'> = {}): Promise<{ applied: string[]; current: number }> {
  return migrate(db, { ...options, dir: assetPath('db', 'outbox-migrations'), schema: OUTBOX_SCHEMA, lockKey: OUTBOX_LOCK_KEY });
}
