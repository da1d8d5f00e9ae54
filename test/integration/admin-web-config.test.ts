// The admin listener under SIDECAR_ADMIN_WEB_CONFIG, on real sockets: TLS from a CA made here,
// basic auth against bcrypt hashes, client certificates, probes without credentials, reloads.
import { writeFileSync } from 'node:fs';
import { request as httpRequest, type RequestListener } from 'node:http';
import { Agent } from 'node:https';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.js';
import { listen, closeServer } from '../../src/util/listen.js';
import { createWebServer } from '../../src/util/web-server.js';
import { httpsGet } from '../helpers/https-get.js';
import { parseMetrics, total } from '../helpers/metrics.js';
import { startTestSidecar, type TestSidecar } from '../helpers/sidecar.js';
import { bcryptHash, makeTestPki, tlsBasicAuthWebConfig, type TestPki } from '../helpers/tls.js';

const PASSWORD = 'CANARYadminpassword5e7a9c1b3d';
const NEW_PASSWORD = 'CANARYrotatedpassword8b0d2f4a6c';

let pki: TestPki;
let ca: string;
beforeAll(() => {
  pki = makeTestPki();
  ca = pki.pem(pki.caCert);
});

function writeWebConfig(name: string, body: string): string {
  const file = join(pki.dir, name);
  writeFileSync(file, body);
  return file;
}

const basicTls = (users: Record<string, string>) => tlsBasicAuthWebConfig(pki, users);

/**
 * createWebServer as the admin listener uses it (full web config, reloads only when told), on a
 * loopback port, with the lines it logs kept in `lines`.
 */
async function listeningWebServer(file: string, handler: RequestListener) {
  const lines: string[] = [];
  const logger = createLogger({
    level: 'info',
    destination: new Writable({
      write(c: Buffer, _e, cb) {
        lines.push(c.toString());
        cb();
      },
    }),
  });
  const web = createWebServer({
    setting: 'SIDECAR_ADMIN_WEB_CONFIG',
    path: file,
    allow: 'full',
    http: {},
    logger,
    watchIntervalMs: 60_000,
    handler,
  });
  const addr = await listen(web.server, { host: '127.0.0.1', port: 0 });
  return { web, lines, addr };
}

const running: TestSidecar[] = [];
afterEach(async () => {
  while (running.length > 0) await running.pop()!.stop();
});

async function start(file: string): Promise<TestSidecar> {
  const s = await startTestSidecar(
    { SIDECAR_ROLE: 'proxy', SIDECAR_ADMIN_WEB_CONFIG: file },
    { webConfigWatchMs: 50 },
  );
  running.push(s);
  return s;
}

function plainGet(url: string): Promise<{ status?: number; error?: string }> {
  return new Promise((resolve) => {
    const req = httpRequest(url, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode }));
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    req.end();
  });
}

describe('admin listener with TLS and basic auth', () => {
  it('serves /metrics over TLS to the right credentials and 401s everything else', async () => {
    const s = await start(writeWebConfig('web.yml', basicTls({ prometheus: PASSWORD })));
    expect(s.urls.admin).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const good = await httpsGet(`${s.urls.admin}/metrics`, { ca, auth: `prometheus:${PASSWORD}` });
    expect(good.status).toBe(200);
    expect(good.body).toContain('nylas_sidecar_build_info');

    const missing = await httpsGet(`${s.urls.admin}/metrics`, { ca });
    expect(missing.status).toBe(401);
    expect(missing.headers['www-authenticate']).toBe(
      'Basic realm="nylas-sidecar", charset="UTF-8"',
    );
    for (const auth of ['prometheus:wrong', `someone:${PASSWORD}`, 'prometheus']) {
      const r = await httpsGet(`${s.urls.admin}/metrics`, { ca, auth });
      expect(r.status, auth).toBe(401);
      expect(r.body).not.toContain('nylas_');
    }
    // What the admin pages give away is behind the credential too.
    for (const path of ['/', '/status', '/support/grant-1', '/status.json']) {
      const r = await httpsGet(`${s.urls.admin}${path}`, { ca });
      expect(r.status, path).toBe(401);
    }

    const samples = parseMetrics(
      (await httpsGet(`${s.urls.admin}/metrics`, { ca, auth: `prometheus:${PASSWORD}` })).body,
    );
    const failures = (reason: string) =>
      total(samples, 'nylas_sidecar_admin_auth_failures_total', { reason });
    expect(failures('missing')).toBe(5);
    expect(failures('invalid')).toBe(3);
    expect(failures('client_certificate')).toBe(0);

    // Plain HTTP to the TLS port gets no answer and is counted as a failed handshake.
    const plain = await plainGet(`${s.urls.admin.replace('https:', 'http:')}/metrics`);
    expect(plain.status).toBeUndefined();
    const after = parseMetrics(
      (await httpsGet(`${s.urls.admin}/metrics`, { ca, auth: `prometheus:${PASSWORD}` })).body,
    );
    expect(
      total(after, 'nylas_sidecar_admin_auth_failures_total', { reason: 'tls_handshake' }),
    ).toBe(1);
    expect(s.logs.join('\n')).not.toContain(PASSWORD);
  });

  it("takes $2y$ hashes as htpasswd writes them (made here by the C library's crypt, not bcryptjs)", async () => {
    // perl -e 'print crypt("correct horse", q($2y$05$abcdefghijklmnopqrstuv))' (libxcrypt)
    const htpasswd = '$2y$05$abcdefghijklmnopqrstuuHNbAKRhpaujgo33bRWs.NLUTJO3lOy2';
    const file = writeWebConfig(
      'htpasswd.yml',
      basicTls({}).replace('basic_auth_users:', `basic_auth_users:\n  ops: '${htpasswd}'`),
    );
    const s = await start(file);
    const url = `${s.urls.admin}/metrics`;
    expect((await httpsGet(url, { ca, auth: 'ops:correct horse' })).status).toBe(200);
    expect((await httpsGet(url, { ca, auth: 'ops:correct horsE' })).status).toBe(401);
  });

  it('answers /healthz and /readyz without credentials, saying no more than before', async () => {
    const s = await start(writeWebConfig('probes.yml', basicTls({ prometheus: PASSWORD })));
    const health = await httpsGet(`${s.urls.admin}/healthz`, { ca });
    expect([health.status, health.body]).toEqual([200, 'ok\n']);
    const ready = await httpsGet(`${s.urls.admin}/readyz`, { ca });
    expect([ready.status, ready.body]).toEqual([200, 'ready\n']);
    // Only the exact probe paths are open.
    for (const path of ['/healthz/../status', '/readyz/x', '/healthzz'])
      expect((await httpsGet(`${s.urls.admin}${path}`, { ca })).status, path).toBe(401);
  });
});

describe('admin listener with client certificates', () => {
  it('takes a certificate from client_ca_file, refuses none or a stranger, leaves probes open', async () => {
    const file = writeWebConfig(
      'mtls.yml',
      [
        'tls_server_config:',
        `  cert_file: ${pki.serverCert}`,
        `  key_file: ${pki.serverKey}`,
        `  client_ca_file: ${pki.caCert}`,
        '  client_auth_type: RequireAndVerifyClientCert',
        '  min_version: TLS12',
        '',
      ].join('\n'),
    );
    const s = await start(file);
    const url = `${s.urls.admin}/metrics`;
    const mine = { ca, cert: pki.pem(pki.clientCert), key: pki.pem(pki.clientKey) };
    const stranger = { ca, cert: pki.pem(pki.strangerCert), key: pki.pem(pki.strangerKey) };
    expect((await httpsGet(url, mine)).status).toBe(200);
    expect((await httpsGet(url, { ca })).status).toBe(403);
    expect((await httpsGet(url, stranger)).status).toBe(403);
    expect((await httpsGet(`${s.urls.admin}/healthz`, { ca })).status).toBe(200);
    const samples = parseMetrics((await httpsGet(url, mine)).body);
    expect(
      total(samples, 'nylas_sidecar_admin_auth_failures_total', { reason: 'client_certificate' }),
    ).toBe(2);
  });
});

describe('admin listener: the other client_auth_type policies', () => {
  it.each([
    // policy, [no certificate, the CA's client certificate, a stranger's certificate]
    ['RequireAnyClientCert', [403, 200, 200]],
    ['VerifyClientCertIfGiven', [200, 200, 403]],
    ['RequestClientCert', [200, 200, 200]],
  ] as const)('%s', async (policy, expected) => {
    const file = writeWebConfig(
      `policy-${policy}.yml`,
      [
        'tls_server_config:',
        `  cert_file: ${pki.serverCert}`,
        `  key_file: ${pki.serverKey}`,
        ...(policy === 'VerifyClientCertIfGiven' ? [`  client_ca_file: ${pki.caCert}`] : []),
        `  client_auth_type: ${policy}`,
        '',
      ].join('\n'),
    );
    const s = await start(file);
    const url = `${s.urls.admin}/metrics`;
    const got = [
      (await httpsGet(url, { ca })).status,
      (await httpsGet(url, { ca, cert: pki.pem(pki.clientCert), key: pki.pem(pki.clientKey) }))
        .status,
      (await httpsGet(url, { ca, cert: pki.pem(pki.strangerCert), key: pki.pem(pki.strangerKey) }))
        .status,
    ];
    expect(got).toEqual(expected);
  });
});

describe('admin web config reload', () => {
  it('swaps the password when the file changes and keeps the old one when the new file is bad', async () => {
    const file = writeWebConfig('reload.yml', basicTls({ prometheus: PASSWORD }));
    const s = await start(file);
    const url = `${s.urls.admin}/metrics`;
    expect((await httpsGet(url, { ca, auth: `prometheus:${PASSWORD}` })).status).toBe(200);

    writeFileSync(file, basicTls({ prometheus: NEW_PASSWORD }));
    await expect
      .poll(async () => (await httpsGet(url, { ca, auth: `prometheus:${NEW_PASSWORD}` })).status, {
        timeout: 5_000,
      })
      .toBe(200);
    expect((await httpsGet(url, { ca, auth: `prometheus:${PASSWORD}` })).status).toBe(401);

    // A broken file (a password where a hash belongs) is refused; the running config stays.
    writeFileSync(
      file,
      basicTls({}).replace('basic_auth_users:', `basic_auth_users:\n  prometheus: ${PASSWORD}`),
    );
    await expect
      .poll(() => s.logs.filter((l) => l.includes('"event":"web_config_rejected"')).length, {
        timeout: 5_000,
      })
      .toBe(1);
    const line = s.logs.find((l) => l.includes('"event":"web_config_rejected"'))!;
    expect(line).toContain('basic_auth_users.prometheus: not a bcrypt hash');
    expect(line).not.toContain(PASSWORD);
    expect((await httpsGet(url, { ca, auth: `prometheus:${NEW_PASSWORD}` })).status).toBe(200);
    expect(s.logs.join('\n')).not.toContain(NEW_PASSWORD);
  });
});

describe('createWebServer reloads that need a restart', () => {
  it('refuses to turn TLS off on reload, keeps serving TLS, and says a restart is needed', async () => {
    const file = writeWebConfig('restart.yml', basicTls({ prometheus: PASSWORD }));
    const { web, lines, addr } = await listeningWebServer(file, (_req, res) => res.end('ok\n'));
    try {
      writeFileSync(file, `basic_auth_users:\n  prometheus: '${bcryptHash(NEW_PASSWORD)}'\n`);
      expect(web.reload()).toBe(false);
      expect(lines.join('')).toContain(
        'tls_server_config was removed, which needs a restart; the previous web configuration stays in force',
      );
      const r = await httpsGet(`https://127.0.0.1:${addr.port}/x`, {
        ca,
        auth: `prometheus:${PASSWORD}`,
      });
      expect(r.status).toBe(200);
    } finally {
      web.close();
      await closeServer(web.server, 100);
    }
  });
});

describe('createWebServer reload under load', () => {
  it('finishes requests in flight and keeps connections open across a password and certificate swap', async () => {
    const file = writeWebConfig('inflight.yml', basicTls({ prometheus: PASSWORD }));
    const held: (() => void)[] = [];
    const { web, lines, addr } = await listeningWebServer(file, (req, res) => {
      const answer = () => res.end('scraped\n');
      if (req.url === '/slow') held.push(answer);
      else answer();
    });
    const base = `https://127.0.0.1:${addr.port}`;
    const agent = new Agent({ ca, keepAlive: true, maxSockets: 1 });
    try {
      const first = await httpsGet(`${base}/fast`, { agent, auth: `prometheus:${PASSWORD}` });
      expect(first.status).toBe(200);
      const inFlight = httpsGet(`${base}/slow`, { ca, auth: `prometheus:${PASSWORD}` });
      await expect.poll(() => held.length).toBe(1);

      const rotated = makeTestPki();
      writeFileSync(file, basicTls({ prometheus: NEW_PASSWORD }));
      expect(web.reload()).toBe(true);
      held.shift()!();
      const done = await inFlight;
      expect([done.status, done.body]).toEqual([200, 'scraped\n']);

      // The kept-alive connection carries on, under the new password.
      const again = await httpsGet(`${base}/fast`, { agent, auth: `prometheus:${NEW_PASSWORD}` });
      expect(again.status).toBe(200);
      expect(again.localPort).toBe(first.localPort);
      expect(
        (await httpsGet(`${base}/fast`, { agent, auth: `prometheus:${PASSWORD}` })).status,
      ).toBe(401);

      // A new certificate from another CA: new handshakes present it, so only its CA verifies them.
      writeFileSync(file, tlsBasicAuthWebConfig(rotated, { prometheus: NEW_PASSWORD }));
      expect(web.reload()).toBe(true);
      const fresh = await httpsGet(`${base}/fast`, {
        ca: rotated.pem(rotated.caCert),
        auth: `prometheus:${NEW_PASSWORD}`,
      });
      expect(fresh.status).toBe(200);
      await expect(
        httpsGet(`${base}/fast`, { ca, auth: `prometheus:${NEW_PASSWORD}` }),
      ).rejects.toThrow();
      expect(lines.join('')).not.toContain(NEW_PASSWORD);
    } finally {
      agent.destroy();
      web.close();
      await closeServer(web.server, 100);
    }
  });
});
