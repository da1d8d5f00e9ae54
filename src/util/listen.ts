import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ListenAddress } from '../config/index.js';

/** A listener could not bind: names the setting and the address, keeps the errno as `cause`. */
export class ListenError extends Error {
  readonly code = 'ERR_SIDECAR_LISTEN';
  constructor(
    readonly variable: string,
    readonly address: string,
    readonly errno: string | undefined,
    options: { cause: unknown },
  ) {
    super(
      `${variable}=${address}: ${REASONS[errno ?? ''] ?? 'cannot listen'}${errno ? ` (${errno})` : ''}`,
      options,
    );
    this.name = 'ListenError';
  }
}

const REASONS: Record<string, string> = {
  EADDRINUSE: 'the address is already in use (another process, or another of these listeners)',
  EADDRNOTAVAIL: 'no interface of this machine has that address',
  EACCES: 'not allowed to listen there (ports below 1024 need privileges)',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name does not resolve',
};

/** host:port as configured, IPv6 in brackets. */
export function addressText(at: ListenAddress): string {
  return `${at.host.includes(':') ? `[${at.host}]` : at.host}:${at.port}`;
}

/** True when only this machine can reach the address. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * Starts a server on an address and resolves with the address it got (port 0 picks one). A
 * failure names `variable`, the setting the address came from.
 */
export function listen(
  server: Server,
  at: ListenAddress,
  variable = 'address',
): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) =>
      reject(new ListenError(variable, addressText(at), err.code, { cause: err }));
    server.once('error', onError);
    server.listen(at.port, at.host, () => {
      server.off('error', onError);
      resolve(server.address() as AddressInfo);
    });
  });
}

/** An http(s) URL for a bound address, for messages and clients. */
export function urlOf(addr: AddressInfo, scheme: 'http' | 'https' = 'http'): string {
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const shown = host === '0.0.0.0' ? '127.0.0.1' : host === '[::]' ? '[::1]' : host;
  return `${scheme}://${shown}:${addr.port}`;
}

/** Closes a server: stops accepting, waits for open requests up to graceMs, then cuts the rest. */
export function closeServer(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    const timer = setTimeout(() => server.closeAllConnections(), graceMs);
    timer.unref();
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
  });
}
