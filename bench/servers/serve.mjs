// How every raw peer server starts and stops: listen on 127.0.0.1 (PORT, default 8080), print the
// `listening on URL` line the harness waits for, and on SIGINT/SIGTERM run `beforeClose` (end
// long-lived connections), close and exit.
export function serve(server, { beforeClose } = {}) {
  server.listen(Number(process.env['PORT'] ?? 8080), '127.0.0.1', () => {
    console.log(`listening on http://127.0.0.1:${server.address().port}`);
  });
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      beforeClose?.();
      server.close(() => process.exit(0));
      server.closeAllConnections();
    });
  }
}
