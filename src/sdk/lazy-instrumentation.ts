import { diag, type TracerProvider } from '@opentelemetry/api';
import {
  InstrumentationBase,
  InstrumentationNodeModuleDefinition,
  InstrumentationNodeModuleFile,
  type InstrumentationConfig,
} from '@opentelemetry/instrumentation';
import { VERSION } from '../contract/version.js';

/** A module, and files in it, that an upstream instrumentation patches. */
export interface LazyTarget {
  /** Package name, as required. */
  module: string;
  /** The versions the upstream instrumentation supports. */
  versions: string[];
  /** Files of the package it patches (`<package>/lib/x.js`), and files patched here. */
  files: string[];
}

type Patch = (exports: unknown, version?: string) => unknown;

/** The part of an upstream instrumentation used here (it brings its own copy of the instrumentation base). */
export interface UpstreamInstrumentation {
  setTracerProvider(provider: TracerProvider): void;
  getModuleDefinitions(): { name: string; patch?: Patch; unpatch?: Patch; files: { name: string; patch: Patch; unpatch: Patch }[] }[];
}

/**
 * Stands in for an upstream instrumentation until the app loads the
 * framework it instruments: the upstream package and the copies of the
 * OpenTelemetry instrumentation base, core and semantic conventions it pulls
 * in are loaded only by apps that use that framework. This stand-in hooks
 * the same module and files (so the hooks exist from the start, as they
 * must: a file is patched as it loads); at the first of them it creates the
 * upstream instrumentation disabled (it registers no hooks of its own) and
 * hands each module and file to that instrumentation's own patch. A
 * subclass may patch files of its own after the upstream ones
 * ({@link patchOwn}). A failure to load or patch is reported once and
 * leaves the module as it was.
 */
export abstract class LazyInstrumentation extends InstrumentationBase {
  private upstream: UpstreamInstrumentation | undefined;
  private failed = false;
  private provider: TracerProvider | undefined;

  constructor(name: string, config: InstrumentationConfig = {}) {
    super(`otel-audit-${name}-loader`, VERSION, config);
  }

  /** The module and files hooked. Called from the base constructor: must use no instance fields. */
  protected abstract target(): LazyTarget;

  /** Requires the upstream package and creates its instrumentation with `enabled: false`. */
  protected abstract loadUpstream(): UpstreamInstrumentation;

  /** Patches of this package's own, applied after the upstream ones. */
  protected patchOwn(_name: string, exports: unknown): unknown {
    return exports;
  }

  protected init(): InstrumentationNodeModuleDefinition[] {
    const { module, versions, files } = this.target();
    return [
      new InstrumentationNodeModuleDefinition(
        module,
        versions,
        (exports: unknown, version?: string) => this.patchModule(module, exports, version),
        (exports: unknown, version?: string) => this.unpatchModule(module, exports, version),
        files.map((file) => new InstrumentationNodeModuleFile(
          file,
          versions,
          (exports: unknown, version?: string) => this.patchModule(file, exports, version),
          (exports: unknown, version?: string) => this.unpatchModule(file, exports, version),
        )),
      ),
    ];
  }

  override setTracerProvider(provider: TracerProvider): void {
    super.setTracerProvider(provider);
    this.provider = provider;
    this.upstream?.setTracerProvider(provider);
  }

  private patchModule(name: string, exports: unknown, version: string | undefined): unknown {
    let out = exports;
    try {
      const patch = this.upstreamPatch(name, 'patch');
      if (patch) out = patch(exports, version) ?? exports;
    } catch (err) {
      this.report(err);
    }
    try {
      return this.patchOwn(name, out);
    } catch (err) {
      this.report(err);
      return out;
    }
  }

  private unpatchModule(name: string, exports: unknown, version: string | undefined): unknown {
    try {
      if (this.upstream) this.upstreamPatch(name, 'unpatch')?.(exports, version);
    } catch (err) {
      diag.debug(`otel-audit: ${this.instrumentationName}: unpatch of ${name} failed`, err);
    }
    return exports;
  }

  private upstreamPatch(name: string, kind: 'patch' | 'unpatch'): Patch | undefined {
    const upstream = this.load();
    if (!upstream) return undefined;
    for (const definition of upstream.getModuleDefinitions()) {
      if (definition.name === name) return definition[kind];
      const file = definition.files.find((f) => f.name === name);
      if (file) return file[kind];
    }
    return undefined;
  }

  private load(): UpstreamInstrumentation | undefined {
    if (this.upstream || this.failed) return this.upstream;
    try {
      this.upstream = this.loadUpstream();
      if (this.provider) this.upstream.setTracerProvider(this.provider);
    } catch (err) {
      this.failed = true;
      this.report(err);
    }
    return this.upstream;
  }

  private reported = false;
  private report(err: unknown): void {
    if (this.reported) return;
    this.reported = true;
    diag.error(`otel-audit: ${this.instrumentationName} could not instrument ${this.target().module}; its requests are audited without its routes (reported once)`, err);
  }
}
