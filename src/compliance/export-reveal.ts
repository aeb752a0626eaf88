/**
 * The encrypted fields of exported lines revealed (src/crypto/record-reader.ts)
 * in each format: a JSON line is parsed and written again; a CSV record has
 * only the fields that change rewritten, the others kept as Postgres wrote
 * them; an OCSF event has the attributes that carry personal fields set from
 * the record's stored values, which its row brings along (`sealed`).
 */
import { isIP } from 'node:net';
import { SEALED_COLUMNS } from '../contract/columns.js';
import { CLIENT_IP_ATTRIBUTE, ENCRYPTABLE } from '../crypto/encryption-config.js';
import { SEALED_ATTRIBUTE } from '../crypto/record-cipher.js';
import { revealLine, revealRecord, revealTouchesAttributes, type KeyRing } from '../crypto/record-reader.js';
import { EXPORT_COLUMNS, type ExportFormat, type ExportLine } from './export-query.js';

/** Every ciphertext, text or JSON (also as CSV-quoted JSON), holds this. */
const MARK = 'enc';

/** The line of an exported row, its encrypted fields revealed. */
export function revealExportLine(format: ExportFormat, row: ExportLine, keys: KeyRing): string {
  if (format === 'jsonl') return revealLine(row.line, keys);
  if (format === 'csv') return revealCsvLine(row.line, keys);
  return revealOcsfLine(row, keys);
}

/**
 * The stored values an OCSF line is made of where they may be encrypted,
 * as JSON text (one more column of the export's query when it reveals).
 */
export const OCSF_SEALED_SQL = `json_build_object('trace_id', r.trace_id, 'span_id', r.span_id, 'actor_id', r.actor_id, 'actor_name', r.actor_name,
  'user_agent', r.user_agent, 'url_path', r.url_path, 'attributes', json_build_object('${CLIENT_IP_ATTRIBUTE}', r.attributes -> '${CLIENT_IP_ATTRIBUTE}',
  '${SEALED_ATTRIBUTE}', r.attributes -> '${SEALED_ATTRIBUTE}'))::text`;

// --- CSV -------------------------------------------------------------------

const JSON_COLUMNS = new Set<string>(SEALED_COLUMNS.filter((c) => c.type === 'jsonb').map((c) => c.name));
/** The columns a revealed CSV record may change, and the ones reveal reads. */
const CHANGED = [...Object.keys(ENCRYPTABLE), 'attributes'];
const READ = ['trace_id', 'span_id', ...CHANGED];
const INDEX = new Map<string, number>(EXPORT_COLUMNS.map((c, i) => [c, i]));

interface CsvField {
  /** The field as written (quotes included). */
  raw: string;
  /** Its value: null for an empty unquoted field (NULL). */
  value: string | null;
}

/** The fields of one CSV record (RFC 4180, as export-query.ts writes it, CRLF included). */
export function parseCsvRecord(line: string): CsvField[] {
  const end = line.endsWith('\r\n') ? line.length - 2 : line.length;
  const fields: CsvField[] = [];
  let i = 0;
  for (;;) {
    const start = i;
    let value: string | null;
    if (line[i] === '"') {
      let text = '';
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0 || q >= end) throw new Error('unterminated quoted CSV field');
        text += line.slice(i, q);
        if (line[q + 1] === '"') {
          text += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      value = text;
    } else {
      const comma = line.indexOf(',', i);
      i = comma < 0 || comma > end ? end : comma;
      value = i === start ? null : line.slice(start, i);
    }
    fields.push({ raw: line.slice(start, i), value });
    if (i >= end) return fields;
    if (line[i] !== ',') throw new Error(`unexpected ${JSON.stringify(line[i])} after a CSV field`);
    i++;
  }
}

const csvQuote = (text: string): string => `"${text.replace(/"/g, '""')}"`;

function csvField(column: string, value: unknown): string {
  if (value === null || value === undefined) return '';
  if (JSON_COLUMNS.has(column)) return csvQuote(JSON.stringify(value));
  return csvQuote(typeof value === 'string' ? value : JSON.stringify(value));
}

function revealCsvLine(line: string, keys: KeyRing): string {
  if (!line.includes(MARK)) return line;
  const fields = parseCsvRecord(line);
  const record: Record<string, unknown> = {};
  for (const column of READ) {
    const value = fields[INDEX.get(column) as number]?.value ?? null;
    record[column] = value !== null && JSON_COLUMNS.has(column) ? (JSON.parse(value) as unknown) : value;
  }
  const before = { ...record };
  const attributesChange = revealTouchesAttributes(record);
  revealRecord(record, keys);
  for (const column of CHANGED) {
    const changed = column === 'attributes' ? attributesChange : record[column] !== before[column];
    if (changed) (fields[INDEX.get(column) as number] as CsvField).raw = csvField(column, record[column]);
  }
  return `${fields.map((f) => f.raw).join(',')}\r\n`;
}

// --- OCSF ------------------------------------------------------------------

type Json = Record<string, unknown>;

/** `obj[key]` as an object, made when missing. */
function objectAt(obj: Json, key: string): Json {
  const v = obj[key];
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) return v as Json;
  const made: Json = {};
  obj[key] = made;
  return made;
}

const text = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

function revealOcsfLine(row: ExportLine, keys: KeyRing): string {
  if (row.sealed === undefined || !row.sealed.includes(MARK)) return row.line;
  const stored = JSON.parse(row.sealed) as Json;
  const hadIp = typeof (stored['attributes'] as Json | null)?.[CLIENT_IP_ATTRIBUTE] === 'string';
  const clear = revealRecord({ ...stored, attributes: { ...(stored['attributes'] as Json) } }, keys);
  const event = JSON.parse(row.line) as Json;
  const changed = (column: string): boolean => clear[column] !== stored[column];
  // The same mapping as ocsf-sql.ts, for the values it was given encrypted.
  if (changed('actor_id')) objectAt(objectAt(event, 'actor'), 'user')['uid'] = text(clear['actor_id']);
  if (changed('actor_name')) objectAt(objectAt(event, 'actor'), 'user')['name'] = text(clear['actor_name']);
  if (hadIp) {
    const ip = text(clear['client_ip']);
    // An address that is no longer known (erased) is named, not given as an address.
    event['src_endpoint'] = isIP(ip) ? { ip } : { name: ip };
  }
  if (changed('user_agent')) objectAt(event, 'http_request')['user_agent'] = text(clear['user_agent']);
  if (changed('url_path')) {
    const url = text(clear['url_path']);
    const q = url.indexOf('?');
    objectAt(event, 'http_request')['url'] = q < 0 ? { path: url } : { path: url.slice(0, q), query_string: url.slice(q + 1) };
  }
  return `${JSON.stringify(event)}\n`;
}
