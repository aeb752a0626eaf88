/**
 * `otel-audit verify`: recompute the tamper-evidence chain and every sealed
 * row; report each finding; exit 1 when there is any.
 */
import { userInfo } from 'node:os';
import { loadDigestKey, type DigestKey } from '../compliance/digest.js';
import { verify, type VerifyReport } from '../compliance/verify.js';
import { DATABASE_HELP, parseDbCommand, usageError, withCliDatabase } from './database.js';

const HELP = `Usage: otel-audit verify [options]

Check the tamper-evidence chain in audit.digests: each digest's hash and its
link to the one before, that the sealed id ranges follow each other without
gaps, signatures (with --key), and every sealed record against the hash its
seal recorded. Reports each edited, deleted or inserted record by id and
each broken link, then records the result as an "audit.verify" record.

Options:
  --from TIME         check the records of seals from this time on (ISO 8601 or
                      a date); the chain itself is always checked whole
  --to TIME           ... up to this time
  --key FILE          the digests must be signed by this key: Ed25519 public or
                      private key (PEM) or the HMAC secret file (repeatable)
  --json              print the report as JSON
  --no-record         do not write the audit.verify record (recording it
                      needs audit_auditor or audit_admin, or the owner)
  --as NAME           who verifies, for the audit.verify record (default: OS user)
${DATABASE_HELP}
  -h, --help          show this help

Also counts conflicts received in the window: records that arrived with an
existing idempotency key but different content, kept in audit.rejected with
reason "conflict". They are reported (a WARNING line, "conflicts" in JSON)
but do not change the exit status: the chain is intact, the sink kept both.

Exit status: 0 when everything verified, 1 on any finding, 2 on bad usage,
3 when the check could not run (database unreachable, ...).
`;

function parseTime(flag: string, text: string | undefined): Date | undefined {
  if (text === undefined) return undefined;
  const d = new Date(/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text);
  if (Number.isNaN(d.getTime())) throw new Error(`${flag} "${text}" is not a time (ISO 8601 or YYYY-MM-DD)`);
  return d;
}

export function formatReport(r: VerifyReport): string {
  const lines: string[] = [];
  const seals = r.digests.filter((d) => d.kind === 'seal');
  const drops = r.digests.filter((d) => d.kind === 'retention');
  lines.push(
    `${r.digests.length} digest${r.digests.length === 1 ? '' : 's'} (${seals.length} seals, ${drops.length} retention), ` +
      `records sealed up to id ${r.lastSealedId}${r.sealedUpTo ? ` (received before ${r.sealedUpTo})` : ''}`,
  );
  lines.push(`${r.checkedRows} sealed record${r.checkedRows === 1 ? '' : 's'} compared; ${r.unsealedRows} newer record${r.unsealedRows === 1 ? '' : 's'} not sealed yet`);
  if (r.conflicts !== null && r.conflicts > 0) {
    lines.push(
      `WARNING: ${r.conflicts} conflict${r.conflicts === 1 ? '' : 's'}: record${r.conflicts === 1 ? '' : 's'} that arrived with an existing ` +
        "idempotency key but different content, kept in audit.rejected (reason 'conflict'); not a break of the chain",
    );
  }
  if (r.ok) {
    lines.push('OK: the chain and every checked record verified');
  } else {
    lines.push(`FAILED: ${r.findings.length} finding${r.findings.length === 1 ? '' : 's'}`);
    for (const f of r.findings) lines.push(`  ${f.kind.padEnd(17)} ${f.message}`);
  }
  return `${lines.join('\n')}\n`;
}

export async function verifyCommand(argv: readonly string[]): Promise<number> {
  const parsed = parseDbCommand(
    'verify',
    argv,
    {
      from: { type: 'string' },
      to: { type: 'string' },
      key: { type: 'string', multiple: true },
      json: { type: 'boolean' },
      'no-record': { type: 'boolean' },
      as: { type: 'string' },
    },
    HELP,
  );
  if ('exit' in parsed) return parsed.exit;
  const { values } = parsed;
  let from: Date | undefined;
  let to: Date | undefined;
  let keys: DigestKey[];
  try {
    from = parseTime('--from', values.from);
    to = parseTime('--to', values.to);
    keys = (values.key ?? []).map((k) => loadDigestKey(k));
  } catch (err) {
    return usageError('verify', (err as Error).message);
  }
  return withCliDatabase(
    'verify',
    values['database-url'],
    values['data-dir'],
    async (db) => {
      const report = await verify(db, { ...(from ? { from } : {}), ...(to ? { to } : {}), keys });
      process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
      if (!values['no-record']) {
        await db.query(`SELECT audit.log_operation('audit.verify', $1, 'digests', NULL, $2, $3::jsonb)`, [
          values.as ?? userInfo().username,
          report.ok ? 'success' : 'failure',
          JSON.stringify({
            findings: report.findings.length,
            digests: report.digests.length,
            checked_rows: report.checkedRows,
            unsealed_rows: report.unsealedRows,
            last_sealed_id: report.lastSealedId,
            conflicts: report.conflicts,
            ...(from ? { from: from.toISOString() } : {}),
            ...(to ? { to: to.toISOString() } : {}),
          }),
        ]);
      }
      return report.ok ? 0 : 1;
    },
    3,
  );
}
