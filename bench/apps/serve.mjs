// How the benchmark apps listen and stop: on 127.0.0.1 at PORT (0: an
// ephemeral port), announced as "LISTENING <port>" on stdout; on SIGTERM they
// stop accepting connections and let the process end by itself, so that
// preloaded SDKs flush on the way out and --cpu-prof profiles get written,
// with a forced exit after `exitGraceMs`.

/** Serves the express `app` until SIGTERM. */
export function serve(app, exitGraceMs) {
  const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1', (err) => {
    if (err) throw err;
    process.stdout.write(`LISTENING ${server.address().port}\n`);
  });
  process.once('SIGTERM', () => {
    server.close();
    server.closeAllConnections();
    setTimeout(() => process.exit(0), exitGraceMs).unref();
  });
  return server;
}
