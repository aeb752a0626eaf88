/**
 * `otel-audit retention --keep 400d`: drop whole sealed monthly partitions
 * older than the retention window.
 */
import { userInfo } from 'node:os';
import { loadDigestKey } from '../compliance/digest.js';
import { parseDuration, runRetention, type RetentionResult } from '../compliance/retention.js';
import { DATABASE_HELP, parseDbCommand, usageError, withCliDatabase } from './database.js';

/** Shorter --keep windows need --force. */
const MIN_KEEP_WITHOUT_FORCE_MS = 86_400_000;

const HELP = `Usage: otel-audit retention --keep DURATION [options]

Drop the monthly partitions of audit.records that end before now minus
DURATION, whole: never single rows, never the default partition, and only
partitions whose every row is sealed in audit.digests. Each drop appends a
"retention" digest naming the record ids it removed (so otel-audit verify
keeps working across the gap), and the run is recorded as an
"audit.retention" record.

Options:
  --keep DURATION     how much history to keep: 400d, 56w, 13mo, 2y, 36h
                      (required, once; under one day needs --force)
  --force             allow a --keep window shorter than one day
  --dry-run           say what would be dropped and why others are kept
  --require-export    drop only partitions whose every row a complete
                      otel-audit export covered: unfiltered, run by a role
                      that reads every tenant, recorded by the database
                      with the same row count and first/last id as the
                      partition holds (and the file's SHA-256)
  --key FILE          sign the retention digests (Ed25519 private key or HMAC secret)
  --as NAME           who runs it, for the audit.retention record (default: OS user)
  --json              print the result as JSON
${DATABASE_HELP}
  -h, --help          show this help

Needs the audit_admin role (or the schema owner). Exit status: 0 done,
1 failure, 2 bad usage.
`;

export function formatRetention(r: RetentionResult, dryRun: boolean): string {
  const lines = [`retention window: records that occurred before ${r.cutoff} may go`];
  if (r.verdicts.length === 0) lines.push('no partition lies entirely before it');
  for (const v of r.verdicts) {
    const what = `${v.partition.name} (${v.partition.from.slice(0, 10)} .. ${v.partition.to.slice(0, 10)}, ${v.rows} rows)`;
    if (v.action === 'keep') lines.push(`  keep  ${what}: ${v.reason}`);
    else {
      const covered = v.export ? `: exported completely (audit.export record ${v.export.recordId} by ${v.export.dbUser}, sha256 ${v.export.sha256})` : '';
      lines.push(`  ${dryRun ? 'would drop' : 'dropped'}  ${what}${covered}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

export async function retentionCommand(argv: readonly string[]): Promise<number> {
  const parsed = parseDbCommand(
    'retention',
    argv,
    {
      keep: { type: 'string', multiple: true },
      force: { type: 'boolean' },
      'dry-run': { type: 'boolean' },
      'require-export': { type: 'boolean' },
      key: { type: 'string' },
      as: { type: 'string' },
      json: { type: 'boolean' },
    },
    HELP,
  );
  if ('exit' in parsed) return parsed.exit;
  const { values } = parsed;
  const keep = values.keep ?? [];
  if (keep.length === 0) return usageError('retention', '--keep DURATION is required');
  if (keep.length > 1) return usageError('retention', `--keep given ${keep.length} times (${keep.join(', ')}): give it once`);
  let keepMs: number;
  let key;
  try {
    keepMs = parseDuration(keep[0] as string);
    key = values.key ? loadDigestKey(values.key) : undefined;
  } catch (err) {
    return usageError('retention', (err as Error).message);
  }
  if (keepMs < MIN_KEEP_WITHOUT_FORCE_MS && values.force !== true) {
    return usageError('retention', `--keep ${keep[0]} keeps less than one day of history: add --force if that is meant`);
  }
  return withCliDatabase('retention', values['database-url'], values['data-dir'], async (db) => {
    const dryRun = values['dry-run'] === true;
    const result = await runRetention(db, {
      keepMs,
      dryRun,
      requireExport: values['require-export'] === true,
      actor: values.as ?? userInfo().username,
      ...(key ? { key } : {}),
    });
    process.stdout.write(values.json ? `${JSON.stringify(result, null, 2)}\n` : formatRetention(result, dryRun));
    return 0;
  });
}
