import { describe, expect, it } from 'vitest';
import { optionalProviders } from '../../src/sdk/optional-providers.js';

describe('optionalProviders', () => {
  it('turns metrics and logs off when their exporters are not configured (unset or blank)', () => {
    expect(optionalProviders({})).toEqual({ metricReaders: [], logRecordProcessors: [] });
    expect(optionalProviders({ OTEL_METRICS_EXPORTER: ' ', OTEL_LOGS_EXPORTER: '' })).toEqual({ metricReaders: [], logRecordProcessors: [] });
  });

  it('leaves a configured exporter to the Node SDK', () => {
    expect(optionalProviders({ OTEL_METRICS_EXPORTER: 'otlp' })).toEqual({ logRecordProcessors: [] });
    expect(optionalProviders({ OTEL_LOGS_EXPORTER: 'console' })).toEqual({ metricReaders: [] });
    expect(optionalProviders({ OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'otlp' })).toEqual({});
  });
});
