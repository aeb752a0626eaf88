import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { GRPC_STATUS } from '../../src/otlp/status.js';

describe('GRPC_STATUS', () => {
  it('equals the codes of @grpc/grpc-js', () => {
    for (const [name, code] of Object.entries(GRPC_STATUS)) {
      expect(code, name).toBe(grpc.status[name as keyof typeof grpc.status]);
    }
  });
});
