import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';

/** A throwaway CA, a server certificate for 127.0.0.1 and a client certificate, made by openssl. */
export interface TestPki {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A certificate and key from a CA nobody trusts. */
  strangerCert: string;
  strangerKey: string;
  /** Read a file of this PKI as text. */
  pem(file: string): string;
}

function openssl(dir: string, args: string[]) {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

function ecKey(dir: string, name: string) {
  openssl(dir, ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', name]);
}

function selfSigned(dir: string, name: string, cn: string) {
  ecKey(dir, `${name}.key`);
  openssl(dir, [
    'req',
    '-x509',
    '-new',
    '-key',
    `${name}.key`,
    '-days',
    '2',
    '-subj',
    `/CN=${cn}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign',
    '-out',
    `${name}.crt`,
  ]);
}

function signed(dir: string, name: string, ca: string, cn: string, ext: string) {
  ecKey(dir, `${name}.key`);
  openssl(dir, ['req', '-new', '-key', `${name}.key`, '-subj', `/CN=${cn}`, '-out', `${name}.csr`]);
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.crt`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    `${name}.ext`,
    '-out',
    `${name}.crt`,
  ]);
}

/** Makes a fresh PKI in a temporary directory (a few EC keys: well under a second). */
export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'sidecar-pki-'));
  selfSigned(dir, 'ca', 'sidecar test CA');
  signed(
    dir,
    'server',
    'ca',
    '127.0.0.1',
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n',
  );
  signed(dir, 'client', 'ca', 'prometheus', 'extendedKeyUsage=clientAuth\n');
  selfSigned(dir, 'stranger-ca', 'untrusted CA');
  signed(dir, 'stranger', 'stranger-ca', 'stranger', 'extendedKeyUsage=clientAuth,serverAuth\n');
  const f = (n: string) => join(dir, n);
  return {
    dir,
    caCert: f('ca.crt'),
    serverCert: f('server.crt'),
    serverKey: f('server.key'),
    clientCert: f('client.crt'),
    clientKey: f('client.key'),
    strangerCert: f('stranger.crt'),
    strangerKey: f('stranger.key'),
    pem: (file) => readFileSync(file, 'utf8'),
  };
}

/** A bcrypt hash of a password (cost 4: tests need no strength, only the format). */
export function bcryptHash(password: string): string {
  return bcrypt.hashSync(password, 4);
}

/**
 * The text of a web config file that serves TLS with `certs`' server certificate and asks for
 * basic auth from `users` (username to plain password; the file holds their bcrypt hashes).
 */
export function tlsBasicAuthWebConfig(
  certs: Pick<TestPki, 'serverCert' | 'serverKey'>,
  users: Record<string, string>,
): string {
  return [
    'tls_server_config:',
    `  cert_file: ${certs.serverCert}`,
    `  key_file: ${certs.serverKey}`,
    'basic_auth_users:',
    ...Object.entries(users).map(([u, p]) => `  ${u}: '${bcryptHash(p)}'`),
    '',
  ].join('\n');
}
