/** Two people whose records carry every personal field, what those fields hold in clear, and a sink that encrypts them. */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ENCRYPTABLE } from '../../src/crypto/encryption-config.js';
import { loadKeyProvider, type KeyProvider } from '../../src/crypto/kek.js';
import type { SinkOptions } from '../../src/sink/types.js';
import { startTestSink, type TestSink } from '../helpers/sink.js';

export const ALL_COLUMNS = Object.keys(ENCRYPTABLE).join(',');

export { ALICE, BOB, personalFields as expected, personalRecord as record, type Person } from '../helpers/personal-records.js';

/** A sink that encrypts (default columns unless told), with its key-encryption key and a directory of its own. */
export interface EncryptedSink {
  sink: TestSink;
  kek: KeyProvider;
  keyFile: string;
  /** A temporary directory for the test's files (the key file is in it); removed by stop(). */
  dir: string;
  stop(): Promise<void>;
}

export async function startEncryptedSink(backend: 'postgres' | 'pglite', options: SinkOptions = {}): Promise<EncryptedSink> {
  const dir = mkdtempSync(join(tmpdir(), 'otel-audit-encrypted-'));
  const keyFile = join(dir, 'kek');
  writeFileSync(keyFile, `${randomBytes(32).toString('hex')}\n`);
  const kek = loadKeyProvider({ file: keyFile }) as KeyProvider;
  try {
    const sink = await startTestSink(backend, { encryptionKeyFile: keyFile, sealIntervalMs: 0, ...(backend === 'pglite' ? { env: {} } : {}), ...options });
    return {
      sink,
      kek,
      keyFile,
      dir,
      async stop() {
        await sink.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
