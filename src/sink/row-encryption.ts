/**
 * Encrypting a batch's rows before they are written (both write methods):
 * the configured columns of a row, together, into one envelope under the
 * data key of the row's subject (its actor, or its tenant), with markers in
 * the columns (record-cipher.ts), and the blind index of the actor id in the
 * attributes, so that the stored row — what the digest chain hashes — holds
 * no clear personal data. What is kept between batches: each subject's live
 * key, what each key (by kid) unwraps to, and the blind indexes of the ids
 * seen, so that none is computed or read per record. Every batch checks that
 * the keys it would use are still live (one query, which returns the erased
 * ones: usually none): a subject erased meanwhile gets a new key for its new
 * records.
 */
import { createSecretKey, type KeyObject } from 'node:crypto';
import { blindIndex, type IndexDomain } from '../crypto/blind-index.js';
import { ACTOR_INDEX_ATTRIBUTE, CLIENT_IP_ATTRIBUTE, ENCRYPTABLE, type EncryptionConfig } from '../crypto/encryption-config.js';
import { recordContext } from '../crypto/field-cipher.js';
import { jsonMarker, sealFields, SEALED_ATTRIBUTE, textMarker, type JsonMarker } from '../crypto/record-cipher.js';
import { liveKeys, type DataKey } from '../crypto/subject-keys.js';
import type { Queryable } from '../db/types.js';
import type { AuditRow } from './row.js';

/**
 * Of the given kids (hex, comma-separated: one text parameter instead of an
 * array of hundreds), those that are not a live key (erased, or unknown to
 * the database).
 */
const NOT_LIVE = `SELECT k.kid FROM unnest(string_to_array($1::text, ',')) AS k(kid)
  WHERE NOT EXISTS (SELECT 1 FROM audit.subject_keys s WHERE s.kid = k.kid AND s.erased_at IS NULL)`;

/** Entries a cache holds at most; past that it starts over (a sink seeing ever new actors keeps bounded memory). */
const CACHE_LIMIT = 100_000;
/** How often the keys erased meanwhile are dropped from the caches. */
export const FORGET_ERASED_INTERVAL_MS = 5_000;
/** Erasure times are the database's clock: look back this much further than the last check. */
const CLOCK_MARGIN_MS = 60_000;

function remember<V>(cache: Map<string, V>, key: string, make: () => V): V {
  let v = cache.get(key);
  if (v === undefined) {
    if (cache.size >= CACHE_LIMIT) cache.clear();
    v = make();
    cache.set(key, v);
  }
  return v;
}

interface KeyInUse {
  key: KeyObject;
  text: string;
  json: Readonly<JsonMarker>;
}

export class RowEncryptor {
  /** The live data key of each subject (by subject index), as last checked. */
  private readonly live = new Map<string, DataKey>();
  /** Unwrapped data keys by kid. */
  private readonly unwrapped = new Map<string, Buffer>();
  /**
   * What rows use of each key, by kid: the key as a KeyObject (a cipher made
   * from one does not import the key again) and the column markers naming it
   * (the jsonb one frozen: shared by the rows).
   */
  private readonly inUse = new Map<string, KeyInUse>();
  /** Blind indexes by domain, then value. */
  private readonly indexes = new Map<IndexDomain, Map<string, string>>();
  /** The blind-index key as a KeyObject: keys the blind indexes and the rows' content hashes (content-hash.ts). */
  readonly hashKey: KeyObject;
  /** When the caches were last checked against erasures (epoch ms). */
  private checkedAt = Date.now();

  constructor(
    readonly config: EncryptionConfig,
    /** The blind-index key (index-key.ts). */
    indexKey: Buffer,
  ) {
    this.hashKey = createSecretKey(indexKey);
  }

  private index(domain: IndexDomain, value: string): string {
    let cache = this.indexes.get(domain);
    if (cache === undefined) this.indexes.set(domain, (cache = new Map()));
    return remember(cache, value, () => blindIndex(this.hashKey, domain, value));
  }

  /** The subject index of a row (the blind index of its actor id or tenant id; '' when it has none). */
  subjectOf(row: AuditRow): string {
    const { subject } = this.config;
    const value = subject === 'tenant' ? row.tenantId : row.actorId;
    return this.index(subject === 'tenant' ? 'subject:tenant' : 'subject:actor', value ?? '');
  }

  /**
   * Erasure destroys every copy of a data key, this sink's memory included:
   * at most every {@link FORGET_ERASED_INTERVAL_MS}, the keys erased since the
   * last check are dropped from the caches.
   * (They were never used again in any case: every batch checks that the
   * keys it uses are live.) Returns how many cached keys were forgotten.
   */
  async forgetErased(db: Queryable, now = Date.now()): Promise<number> {
    if (now - this.checkedAt < FORGET_ERASED_INTERVAL_MS || this.unwrapped.size === 0) return 0;
    const since = new Date(this.checkedAt - CLOCK_MARGIN_MS);
    this.checkedAt = now;
    const { rows } = await db.query<{ kid: string }>('SELECT kid FROM audit.subject_keys WHERE erased_at >= $1', [since]);
    let forgotten = 0;
    const erased = new Set<string>();
    for (const { kid } of rows) {
      if (!this.unwrapped.has(kid)) continue;
      erased.add(kid);
      this.drop(kid);
      forgotten++;
    }
    if (erased.size > 0) for (const [subject, k] of this.live) if (erased.has(k.kid)) this.live.delete(subject);
    return forgotten;
  }

  /** Forgets a data key. Dropped, not overwritten: a batch encrypting at this moment may still hold the buffer. */
  private drop(kid: string): void {
    this.unwrapped.delete(kid);
    this.inUse.delete(kid);
  }

  /**
   * The live data key of each subject: those remembered from earlier
   * batches once the database confirms they are still live (the query
   * returns the ones that are not: erased, usually none), the others looked
   * up, or created (subject-keys.ts).
   */
  private async keysOf(db: Queryable, subjects: readonly string[]): Promise<Map<string, DataKey>> {
    const out = new Map<string, DataKey>();
    const unknown: string[] = [];
    for (const s of subjects) {
      const k = this.live.get(s);
      if (k) out.set(s, k);
      else unknown.push(s);
    }
    if (out.size > 0) {
      const { rows } = await db.query<{ kid: string }>(NOT_LIVE, [[...out.values()].map((k) => k.kid).join(',')]);
      if (rows.length > 0) {
        const gone = new Set(rows.map((r) => r.kid));
        for (const [s, k] of out) {
          if (!gone.has(k.kid)) continue;
          out.delete(s);
          this.live.delete(s);
          this.drop(k.kid);
          unknown.push(s);
        }
      }
    }
    if (unknown.length > 0) {
      if (this.live.size >= CACHE_LIMIT) this.live.clear();
      for (const [s, k] of await liveKeys(db, this.config.kek, unknown, this.unwrapped)) {
        out.set(s, k);
        this.live.set(s, k);
      }
    }
    return out;
  }

  /** Whether this sink holds the data key `kid` in memory. */
  holdsKey(kid: string): boolean {
    return this.unwrapped.has(kid) || this.inUse.has(kid);
  }

  /** The rows encrypted (new objects; the originals are left as they are). */
  async encrypt(db: Queryable, rows: readonly AuditRow[]): Promise<AuditRow[]> {
    await this.forgetErased(db);
    const subjects = rows.map((r) => this.subjectOf(r));
    if (this.unwrapped.size >= CACHE_LIMIT) {
      this.unwrapped.clear();
      this.inUse.clear();
      this.live.clear();
    }
    const keys = await this.keysOf(db, [...new Set(subjects)]);
    return rows.map((row, i) => {
      const { kid, key } = keys.get(subjects[i] as string) as { kid: string; key: Buffer };
      const use = remember(this.inUse, kid, () => ({ key: createSecretKey(key), text: textMarker(kid), json: Object.freeze(jsonMarker(kid)) }));
      const out: AuditRow = { ...row, attributes: { ...row.attributes } };
      if (row.actorId !== null) out.attributes[ACTOR_INDEX_ATTRIBUTE] = this.index('actor_id', row.actorId);
      let fields: Record<string, unknown> | undefined;
      for (const column of this.config.columns) {
        const { type, field } = ENCRYPTABLE[column];
        const value: unknown = row[field];
        if (value === null || value === undefined) continue;
        (fields ??= {})[column] = value;
        if (type === 'jsonb') (out as unknown as Record<string, unknown>)[field] = use.json;
        else if (type === 'text') (out as unknown as Record<string, unknown>)[field] = use.text;
        else {
          out.clientIp = null;
          out.attributes[CLIENT_IP_ATTRIBUTE] = use.text;
        }
      }
      if (fields) out.attributes[SEALED_ATTRIBUTE] = sealFields(use.key, kid, fields, recordContext(row.traceId, row.spanId));
      return out;
    });
  }
}
