import { describe, expect, it } from 'vitest';
import { MIN_NODE_VERSION, unsupportedNodeReason } from '../../src/util/node-support.js';

describe('unsupportedNodeReason', () => {
  it('accepts the minimum and anything newer', () => {
    for (const v of [MIN_NODE_VERSION, '22.15.1', '22.16.0', '23.0.0', '24.11.1', 'v24.0.0', '100.0.0']) expect(unsupportedNodeReason(v)).toBeUndefined();
  });

  it('names the version it needs for anything older', () => {
    for (const v of ['22.14.9', '22.9.0', '20.20.2', '18.19.0', 'v21.99.99']) {
      expect(unsupportedNodeReason(v)).toBe(`Node.js ${v} is not supported (otel-audit needs Node.js ${MIN_NODE_VERSION} or newer)`);
    }
  });
});
