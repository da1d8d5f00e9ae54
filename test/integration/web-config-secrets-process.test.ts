// Red team for the admin web config: its passwords, their bcrypt hashes and the TLS private key
// never reach a log line, /metrics, an HTTP answer or a --check-config message, whatever a client
// sends and however broken a reloaded file is.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpsGet } from '../helpers/https-get.js';
import { MAIN, startSidecarProcess, type SidecarProcess } from '../helpers/process.js';
import { bcryptHash, makeTestPki, type TestPki } from '../helpers/tls.js';

const CANARY = {
  password: 'CANARYwebpassword0a2c4e6b8d',
  guess: 'CANARYwrongguess1b3d5f7a9c',
  user: 'CANARYusername2c4e6a8b0d',
};

describe('the admin web config keeps its secrets', () => {
  let pki: TestPki;
  let file: string;
  let hash: string;
  let keyLines: string[];
  let proc: SidecarProcess;
  const answers: string[] = [];

  const write = (lines: string[]) => writeFileSync(file, `${lines.join('\n')}\n`);
  const good = () => [
    'tls_server_config:',
    `  cert_file: ${pki.serverCert}`,
    `  key_file: ${pki.serverKey}`,
    'basic_auth_users:',
    `  prometheus: '${hash}'`,
  ];

  beforeAll(async () => {
    pki = makeTestPki();
    file = join(pki.dir, 'web.yml');
    hash = bcryptHash(CANARY.password);
    // Every base64 line of the private key is a canary.
    keyLines = pki
      .pem(pki.serverKey)
      .split('\n')
      .filter((l) => l && !l.startsWith('-----'));
    write(good());
    proc = await startSidecarProcess({
      SIDECAR_ROLE: 'proxy',
      NYLAS_API_KEY: 'k',
      SIDECAR_LOG_LEVEL: 'debug',
      SIDECAR_ADMIN_WEB_CONFIG: file,
    });
  });
  afterAll(async () => {
    await proc?.stop();
  });

  it('leaks nothing through requests, reloads of broken files or --check-config', async () => {
    const ca = pki.pem(pki.caCert);
    const get = async (path: string, auth?: string) => {
      const r = await httpsGet(`${proc.adminUrl}${path}`, { ca, auth });
      answers.push(JSON.stringify(r.headers), r.body);
      return r.status;
    };
    expect(await get('/metrics', `prometheus:${CANARY.password}`)).toBe(200);
    expect(await get('/metrics', `prometheus:${CANARY.guess}`)).toBe(401);
    expect(await get('/status', `${CANARY.user}:${CANARY.password}`)).toBe(401);
    expect(await get(`/support/${CANARY.guess}`, `${CANARY.guess}:`)).toBe(401);

    const rejected = () => proc.stdout.filter((l) => l.includes('"web_config_rejected"')).length;
    const broken: string[][] = [
      // The password pasted where its hash belongs.
      good().map((l) => l.replace(hash, CANARY.password)),
      // The key given as the certificate, and the certificate as the key.
      good().map((l) =>
        l
          .replace(pki.serverCert, '@@')
          .replace(pki.serverKey, pki.serverCert)
          .replace('@@', pki.serverKey),
      ),
      // YAML broken on the hash's line.
      good().map((l) => (l.includes(hash) ? `  prometheus: '${hash}` : l)),
      // A user whose "hash" is the key itself.
      [...good(), `  other: "${keyLines.join('')}"`],
    ];
    for (const [i, lines] of broken.entries()) {
      write(lines);
      proc.child.kill('SIGHUP');
      await expect.poll(rejected, { timeout: 10_000 }).toBeGreaterThanOrEqual(i + 1);
      const r = spawnSync(process.execPath, [MAIN, '--check-config'], {
        env: { PATH: process.env.PATH ?? '', NYLAS_API_KEY: 'k', SIDECAR_ADMIN_WEB_CONFIG: file },
        encoding: 'utf8',
      });
      expect(r.status, `broken file ${i}`).toBe(1);
      answers.push(r.stdout, r.stderr);
    }
    // The running configuration survived all of them.
    expect(await get('/metrics', `prometheus:${CANARY.password}`)).toBe(200);

    const everything = [...proc.stdout, ...proc.stderr, ...answers].join('\n');
    const secrets: Record<string, string> = {
      ...CANARY,
      hash,
      hashSalt: hash.slice(7, 29),
      basicAuth: Buffer.from(`prometheus:${CANARY.password}`).toString('base64'),
    };
    for (const [i, line] of keyLines.entries()) secrets[`key line ${i}`] = line;
    for (const [name, value] of Object.entries(secrets))
      expect(everything.includes(value), `${name} leaked`).toBe(false);
    // The failures were reported, just without secrets.
    expect(everything).toContain('basic_auth_users.prometheus: not a bcrypt hash');
    expect(everything).toContain('basic_auth_users.other: not a bcrypt hash');
  });
});
