/**
 * `npm run pipeline`: the whole pipeline on this machine (example service,
 * collector, Jaeger, sink with its query API and viewer) until Ctrl-C.
 * A script of the repository, not a command of the package: it runs the
 * collector and Jaeger that `npm run collector:build` builds with Go.
 *
 *   npm run pipeline [-- options]      (--help lists them)
 */
import { parsePipelineArgs, PIPELINE_USAGE } from './pipeline/options.ts';
import { runPipeline } from './pipeline/run.ts';

const parsed = parsePipelineArgs(process.argv.slice(2));
if (parsed === 'help') {
  process.stdout.write(PIPELINE_USAGE);
} else if ('error' in parsed) {
  process.stderr.write(`pipeline: ${parsed.error}\nRun "npm run pipeline -- --help" for usage.\n`);
  process.exitCode = 2;
} else {
  const controller = new AbortController();
  const stop = (): void => {
    // A second signal: stop waiting (the exit handler kills what is left).
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  process.exitCode = await runPipeline(parsed, controller.signal, (line) => void process.stdout.write(`${line}\n`));
  process.removeListener('SIGINT', stop);
  process.removeListener('SIGTERM', stop);
}
