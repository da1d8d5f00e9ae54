import { Agent, request } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';

export interface HttpsAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** The local port of the connection that carried the request (to tell reused ones). */
  localPort: number | undefined;
}

export interface HttpsGetOptions {
  /** username:password for basic auth. */
  auth?: string;
  agent?: Agent;
  ca?: string;
  cert?: string;
  key?: string;
}

/** A GET over TLS with node:https, trusting only `ca`. */
export function httpsGet(url: string, opts: HttpsGetOptions = {}): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (opts.auth) headers.authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
    const req = request(
      url,
      {
        headers,
        agent: opts.agent ?? false,
        ...(opts.agent ? {} : { ca: opts.ca, cert: opts.cert, key: opts.key }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
            localPort: res.socket?.localPort,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}
