/** Where the commands that read encrypted records find the key-encryption key: the flag, else the environment. */
import type { KekSource } from '../crypto/kek.js';

export function encryptionKeySource(file: string | undefined, env: Record<string, string | undefined> = process.env): KekSource {
  const pick = (...names: string[]): string | undefined => names.map((n) => env[n]).find((v) => v !== undefined && v !== '');
  return {
    file: file ?? pick('OTEL_AUDIT_ENCRYPTION_KEY_FILE', 'OTEL_AUDIT_SINK_ENCRYPTION_KEY_FILE'),
    key: pick('OTEL_AUDIT_ENCRYPTION_KEY', 'OTEL_AUDIT_SINK_ENCRYPTION_KEY'),
  };
}
