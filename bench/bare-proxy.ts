// The benchmark's baseline proxy: the same node:http + undici Pool dispatch shape as the
// sidecar, with no instrumentation at all (no routes, metrics, spans or error reading).
// `node dist/bench/bare-proxy.js <upstream-url>` prints {"port": N} once listening.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool, type Dispatcher } from 'undici';

const upstream = process.argv[2]!;
const pool = new Pool(upstream, { connections: 256, keepAliveTimeout: 4_000 });
const HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'host',
  'te',
  'upgrade',
  'trailer',
]);

class Handler implements Dispatcher.DispatchHandler {
  constructor(private readonly res: ServerResponse) {}
  onRequestStart() {}
  onResponseStart(
    c: Dispatcher.DispatchController,
    status: number,
    headers: Record<string, string | string[] | undefined>,
  ) {
    for (const h of HOP) delete headers[h];
    this.res.writeHead(status, headers);
    void c;
  }
  onResponseData(c: Dispatcher.DispatchController, chunk: Buffer) {
    if (!this.res.write(chunk)) {
      c.pause();
      this.res.once('drain', () => c.resume());
    }
  }
  onResponseEnd() {
    this.res.end();
  }
  onResponseError(_c: Dispatcher.DispatchController, _err: Error) {
    if (!this.res.headersSent) this.res.writeHead(502);
    this.res.end();
  }
}

const server = createServer((req: IncomingMessage, res: ServerResponse) => {
  const headers: string[] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (!HOP.has(req.rawHeaders[i]!.toLowerCase()))
      headers.push(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
  }
  const hasBody =
    req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0';
  pool.dispatch(
    {
      path: req.url!,
      method: req.method as Dispatcher.HttpMethod,
      headers,
      body: hasBody ? req : null,
    },
    new Handler(res),
  );
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
