import type { Server, ServerResponse } from 'node:http';
import { Server as NetServer, type Socket } from 'node:net';

/** The response a server socket is busy with (Node keeps it there); null between requests. */
type HttpSocket = Socket & { _httpMessage?: ServerResponse | null };

/** How often a draining proxy looks for idle connections: an idle one closes within two periods. */
const DRAIN_SWEEP_MS = 100;

/**
 * Shutdown for a listener whose clients keep connections alive. Node's own
 * close() destroys the connections idle at that instant, which cuts the request a client has just
 * sent on one (it is on the wire, not yet read), and leaves busy connections open to be reset at
 * the grace deadline. Here, once draining starts:
 * - every response not yet started says `Connection: close` (Node then closes after it);
 * - a connection is closed only once it has been idle, with no byte arriving, for a full sweep
 *   period, so a request already on its way is served (with `Connection: close`) instead of cut;
 * - the returned promise resolves as soon as the last connection has closed, or at the grace
 *   deadline, when what is left is cut.
 */
export class KeepAliveDrain {
  private readonly sockets = new Set<HttpSocket>();
  private draining = false;

  constructor(private readonly server: Server) {
    server.on('connection', (socket: HttpSocket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  /** True once close() has been called: responses must not offer keep-alive. */
  get active(): boolean {
    return this.draining;
  }

  /** Stops accepting and drains as described above; resolves once every connection is closed. */
  close(graceMs: number): Promise<void> {
    this.draining = true;
    const server = this.server;
    if (!server.listening) return Promise.resolve();
    return new Promise((resolve) => {
      const grace = setTimeout(() => server.closeAllConnections(), graceMs);
      grace.unref();
      const seen = new Map<HttpSocket, number>();
      const sweep = () => {
        for (const socket of this.sockets) {
          const res = socket._httpMessage;
          if (res) {
            if (!res.headersSent) res.shouldKeepAlive = false;
            seen.delete(socket);
          } else if (seen.get(socket) === socket.bytesRead) {
            socket.destroy();
          } else {
            seen.set(socket, socket.bytesRead);
          }
        }
      };
      const timer = setInterval(sweep, DRAIN_SWEEP_MS);
      timer.unref();
      // net.Server's close, not http.Server's: the latter first destroys every connection idle at
      // this instant (see above).
      NetServer.prototype.close.call(server, () => {
        clearTimeout(grace);
        clearInterval(timer);
        resolve();
      });
      sweep();
    });
  }
}
