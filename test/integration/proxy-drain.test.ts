import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { startTestSidecar } from '../helpers/sidecar.js';

interface ClientTally {
  ok: number;
  /** Responses that said `Connection: close`. */
  closing: number;
  /** Requests that got no answer: reset, hang-up, anything but a refused new connection. */
  cut: string[];
  refused: number;
}

/** A keep-alive client that sends the next request as soon as the last answer ended. */
async function backToBack(url: string, tally: ClientTally, stopAfterClose: () => boolean) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    for (;;) {
      const outcome = await new Promise<'ok' | 'closing' | 'refused' | 'cut'>((resolve) => {
        const req = request(url, { agent }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.headers.connection === 'close' ? 'closing' : 'ok'));
          res.on('error', (e) => {
            tally.cut.push(e.message);
            resolve('cut');
          });
        });
        req.on('error', (e: NodeJS.ErrnoException) => {
          if (e.code === 'ECONNREFUSED') return resolve('refused');
          tally.cut.push(`${e.code ?? ''} ${e.message}`);
          resolve('cut');
        });
        req.end();
      });
      if (outcome === 'ok') tally.ok++;
      else if (outcome === 'closing') tally.closing++;
      else if (outcome === 'refused') tally.refused++;
      if (outcome === 'refused' || outcome === 'cut') return;
      if (outcome === 'closing' && stopAfterClose()) return;
    }
  } finally {
    agent.destroy();
  }
}

describe('SIGTERM with busy keep-alive clients', () => {
  let upstream: FakeUpstream;
  beforeAll(async () => {
    upstream = await startFakeUpstream();
  });
  afterAll(async () => {
    await upstream?.close();
  });

  it('answers Connection: close after shutdown starts, cuts no request, and ends with the last one', async () => {
    const sidecar = await startTestSidecar({
      NYLAS_API_URI: upstream.url,
      SIDECAR_SHUTDOWN_GRACE_MS: '4000',
    });
    const url = `${sidecar.urls.proxy}/v3/grants/g/threads?fault=slow&ms=20`;
    let stopping = false;
    const tallies: ClientTally[] = Array.from({ length: 4 }, () => ({
      ok: 0,
      closing: 0,
      cut: [],
      refused: 0,
    }));
    // Each client stops once it has been told to close after shutdown began (a real app would
    // open a new connection, which is refused).
    const clients = tallies.map((t) => backToBack(url, t, () => stopping));
    // And one keep-alive connection that sits idle after its one request.
    const idle = connect(Number(new URL(sidecar.urls.proxy).port), '127.0.0.1');
    let idleAnswer = '';
    idle.setEncoding('latin1');
    idle.on('data', (d: string) => (idleAnswer += d));
    idle.write('GET /v3/grants HTTP/1.1\r\nHost: x\r\n\r\n');
    const idleClosed = new Promise<void>((r) => idle.on('close', () => r()));
    await expect.poll(() => idleAnswer.includes('grant-1'), { timeout: 10_000 }).toBe(true);
    await expect.poll(() => tallies.every((t) => t.ok >= 5), { timeout: 10_000 }).toBe(true);
    stopping = true;
    await sidecar.stop();
    await Promise.all(clients);
    // The idle connection was closed by the proxy (stop() waits for every connection).
    await idleClosed;
    expect(idleAnswer).toMatch(/connection: keep-alive/i);
    for (const t of tallies) {
      expect(t.cut).toEqual([]);
      expect(t.closing).toBeGreaterThanOrEqual(1);
    }
  });
});
