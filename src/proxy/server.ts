// SCAFFOLD: replaced by the real proxy in the next commit.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config/index.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/index.js';
import type { Tracing } from '../tracing/index.js';
import type { RecentErrors } from './recent-errors.js';
import { closeServer, listen } from '../util/listen.js';

export interface ProxyDeps {
  config: Config;
  metrics: Metrics;
  logger: Logger;
  tracing: Tracing;
  recentErrors: RecentErrors;
}

export interface Proxy {
  readonly server: Server;
  start(): Promise<AddressInfo>;
  stop(graceMs: number): Promise<void>;
}

export function createProxy(deps: ProxyDeps): Proxy {
  const server = createServer((_req, res) => res.writeHead(501).end());
  return {
    server,
    start: () => listen(server, deps.config.proxy.listen),
    stop: (grace) => closeServer(server, grace),
  };
}
