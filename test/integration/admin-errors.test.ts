import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import express, { Router } from 'express';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createAdminApp } from '../../src/admin/index.js';
import { createLogger } from '../../src/log/logger.js';
import { createMetrics } from '../../src/metrics/index.js';
import { startTestSidecar, type TestSidecar } from '../helpers/sidecar.js';

// Express decides at app creation whether its error pages show stack traces: from NODE_ENV, which
// vitest sets to "test" and `npm start` leaves unset. These tests build every app without it.
const savedNodeEnv = process.env.NODE_ENV;
function withoutNodeEnv<T>(build: () => T): T {
  delete process.env.NODE_ENV;
  try {
    return build();
  } finally {
    process.env.NODE_ENV = savedNodeEnv;
  }
}

/** A stack frame, or an absolute path on this host. */
const STACK_OR_PATH = /\n\s+at |node_modules|\/work\/|file:\/\//;

const stderrWrites: string[] = [];
const spies: { mockRestore(): void }[] = [];
beforeAll(() => {
  const stderrSpy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: unknown) => {
    stderrWrites.push(String(chunk));
    return true;
  });
  const consoleSpy = vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
    stderrWrites.push(args.map(String).join(' '));
  });
  spies.push(stderrSpy, consoleSpy);
});
afterAll(() => {
  for (const s of spies) s.mockRestore();
});

describe('admin errors on the running sidecar, NODE_ENV unset', () => {
  let sc: TestSidecar;
  beforeAll(async () => {
    sc = await withoutNodeEnv(() => startTestSidecar({}));
  });
  afterAll(async () => {
    await sc?.stop();
  });
  afterEach(() => {
    stderrWrites.length = 0;
  });

  it('answers a malformed grant id (GET /support/%ZZ) with a short JSON 400 and one log line', async () => {
    const before = sc.logs.length;
    const res = await fetch(`${sc.urls.admin}/support/%ZZ`);
    const text = await res.text();
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(JSON.parse(text)).toEqual({
      error: { type: 'sidecar.invalid_request', message: 'The request is malformed.' },
    });
    expect(text).not.toMatch(STACK_OR_PATH);
    expect(text).not.toContain('%ZZ');
    const lines = sc.logs.slice(before).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ event: 'admin_error', status: 400, error_name: 'URIError' });
    expect(sc.logs.slice(before).join('\n')).not.toMatch(STACK_OR_PATH);
    expect(stderrWrites.join('')).toBe('');
  });

  it('answers an unknown admin path with a JSON 404 that does not echo the path', async () => {
    const res = await fetch(`${sc.urls.admin}/nope/<script>`);
    const text = await res.text();
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(JSON.parse(text)).toMatchObject({ error: { type: 'sidecar.not_found' } });
    expect(text).not.toContain('nope');
    expect(stderrWrites.join('')).toBe('');
  });
});

describe('the admin app error handler, NODE_ENV unset', () => {
  let server: Server;
  let base: string;
  const logs: string[] = [];
  beforeAll(async () => {
    const logger = createLogger({
      level: 'info',
      destination: new Writable({
        write(chunk: Buffer, _enc, cb) {
          for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(line);
          cb();
        },
      }),
    });
    const failing = Router();
    failing.get('/boom', () => {
      throw new Error('boom at /home/someone/secret-path with token=abc');
    });
    failing.get('/boom-async', (_req, _res, next) => {
      setImmediate(() => next(Object.assign(new Error('async failure'), { code: 'ERR_X' })));
    });
    failing.post('/json', express.json(), (_req, res) => {
      res.json({ ok: true });
    });
    const app = withoutNodeEnv(() =>
      createAdminApp({
        metrics: createMetrics({ latencyBuckets: [1], version: 't', defaultMetrics: false }),
        state: { ready: () => true },
        logger,
        routers: [failing],
      }),
    );
    server = createServer(app);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });
  afterEach(() => {
    stderrWrites.length = 0;
    logs.length = 0;
  });

  it.each([
    ['a route that throws', '/boom', 'GET', undefined, 500, 'sidecar.internal_error'],
    ['a route that fails later', '/boom-async', 'GET', undefined, 500, 'sidecar.internal_error'],
    ['a malformed JSON body', '/json', 'POST', '{"name":', 400, 'sidecar.invalid_request'],
  ] as const)(
    'answers %s with a short JSON error',
    async (_what, path, method, body, status, type) => {
      const res = await fetch(`${base}${path}`, {
        method,
        body,
        headers: body ? { 'content-type': 'application/json' } : {},
      });
      const text = await res.text();
      expect(res.status).toBe(status);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect((JSON.parse(text) as { error: { type: string } }).error.type).toBe(type);
      expect(text.length).toBeLessThan(200);
      expect(text).not.toMatch(STACK_OR_PATH);
      expect(text).not.toMatch(/boom|token|failure/);
      expect(logs).toHaveLength(1);
      expect(JSON.parse(logs[0]!)).toMatchObject({ event: 'admin_error', status });
      expect(logs[0]).not.toMatch(STACK_OR_PATH);
      expect(logs[0]).not.toMatch(/secret-path|token=abc/);
      expect(stderrWrites.join('')).toBe('');
    },
  );
});
