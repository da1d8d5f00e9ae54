// The Prometheus exporter toolkit's web configuration file (the one node_exporter and
// blackbox_exporter read with --web.config.file), so that a scrape config's `tls_config` and
// `basic_auth`, or a PodMonitor's `tlsConfig` and `basicAuth`, work against the sidecar unchanged.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { dirname, isAbsolute, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { redactCredentials } from './redact.js';

// The YAML parser is loaded only when a web config is set: most proxy replicas have none, and the
// parser costs every one of them memory.
const parseYaml = (text: string): unknown =>
  (createRequire(import.meta.url)('yaml') as typeof import('yaml')).parse(text);

/** A path as messages show it: quoted, with anything shaped like a credential masked. */
export function shownPath(path: string | undefined): string {
  return JSON.stringify(redactCredentials(path ?? ''));
}

/** The exporter toolkit's client_auth_type values (Go's tls.ClientAuthType names). */
export type ClientAuthType =
  | 'NoClientCert'
  | 'RequestClientCert'
  | 'RequireAnyClientCert'
  | 'VerifyClientCertIfGiven'
  | 'RequireAndVerifyClientCert';

const CLIENT_AUTH_TYPES: readonly ClientAuthType[] = [
  'NoClientCert',
  'RequestClientCert',
  'RequireAnyClientCert',
  'VerifyClientCertIfGiven',
  'RequireAndVerifyClientCert',
];

/** The toolkit's TLS version names, as Node spells them. */
const TLS_VERSIONS = {
  TLS10: 'TLSv1',
  TLS11: 'TLSv1.1',
  TLS12: 'TLSv1.2',
  TLS13: 'TLSv1.3',
} as const;
type TlsVersion = (typeof TLS_VERSIONS)[keyof typeof TLS_VERSIONS];

/** A web config file, read and checked: PEM text of every file it names, bcrypt hashes. */
export interface WebConfig {
  readonly tls:
    | {
        readonly cert: string;
        readonly key: string;
        /** PEM of the CAs that sign client certificates (client_ca_file). */
        readonly ca: string | undefined;
        readonly clientAuth: ClientAuthType;
        readonly minVersion: TlsVersion;
        readonly maxVersion: TlsVersion;
      }
    | undefined;
  /** Username to bcrypt hash; empty means no basic auth. */
  readonly users: ReadonlyMap<string, string>;
  /** Every file the configuration came from (itself first), watched for changes. */
  readonly files: readonly string[];
}

export interface WebConfigOptions {
  /** The setting that names the file, for messages (SIDECAR_ADMIN_WEB_CONFIG). */
  setting: string;
  readFile: (path: string) => string;
  /**
   * `tls` for a listener that can only use TLS (the webhook listener: Nylas sends neither basic
   * auth nor a client certificate), `full` for the admin listener.
   */
  allow: 'full' | 'tls';
}

/** Fields the exporter toolkit knows that the sidecar does not implement: named, not ignored. */
const UNSUPPORTED: Record<string, string> = {
  'tls_server_config.cipher_suites': 'Node picks its cipher suites; set min_version instead',
  'tls_server_config.curve_preferences': 'Node picks its curves',
  'tls_server_config.prefer_server_cipher_suites': 'Node picks its cipher suites',
  'tls_server_config.client_allowed_sans':
    'not supported; sign client certificates with a CA of their own',
  'tls_server_config.cert': 'not supported; use cert_file',
  'tls_server_config.key': 'not supported; use key_file',
  http_server_config: 'not supported (the admin listener sets its own headers and speaks HTTP/1.1)',
  rate_limit: 'not supported',
};

const TOP = ['tls_server_config', 'basic_auth_users'];
const TLS_FIELDS = [
  'cert_file',
  'key_file',
  'client_ca_file',
  'client_auth_type',
  'min_version',
  'max_version',
];

/** bcrypt's modular crypt format: $2a$, $2b$ or $2y$, a two-digit cost, 53 characters of salt+hash. */
const BCRYPT = /^\$2[aby]\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$/;

type Result = { ok: true; config: WebConfig } | { ok: false; problems: string[] };

/**
 * Reads and checks a web config file and the files it names. Every problem is one line naming the
 * setting, the file and the field; no line quotes a key, a hash or a file's contents.
 */
export function loadWebConfig(path: string, opts: WebConfigOptions): Result {
  const problems: string[] = [];
  const at = (field: string, what: string) =>
    problems.push(`${opts.setting}=${shownPath(path)}: ${field ? `${field}: ` : ''}${what}`);
  const read = (file: string, field: string): string | undefined => {
    try {
      return opts.readFile(file);
    } catch (err) {
      at(
        field,
        `cannot read ${shownPath(file)} (${(err as NodeJS.ErrnoException).code ?? 'unknown error'})`,
      );
      return undefined;
    }
  };
  const text = read(path, '');
  if (text === undefined) return { ok: false, problems };
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch {
    // The parser's message can quote the broken line, which may hold a hash.
    at('', 'not valid YAML');
    return { ok: false, problems };
  }
  doc ??= {};
  if (!isMap(doc)) {
    at('', 'the file must hold a mapping (tls_server_config, basic_auth_users)');
    return { ok: false, problems };
  }
  for (const k of Object.keys(doc)) if (!TOP.includes(k)) at(k, UNSUPPORTED[k] ?? 'unknown field');

  // The toolkit reads the files a config names relative to the config's own directory.
  const base = dirname(path);
  const fileOf = (v: string) => (isAbsolute(v) ? v : resolve(base, v));
  const files = [path];

  let tls: WebConfig['tls'];
  const t = doc.tls_server_config;
  if (t !== undefined && t !== null) {
    if (!isMap(t)) at('tls_server_config', 'must be a mapping');
    else {
      for (const k of Object.keys(t))
        if (!TLS_FIELDS.includes(k))
          at(`tls_server_config.${k}`, UNSUPPORTED[`tls_server_config.${k}`] ?? 'unknown field');
      if (opts.allow === 'tls')
        for (const k of ['client_ca_file', 'client_auth_type'])
          if (t[k] !== undefined)
            at(
              `tls_server_config.${k}`,
              'not supported on this listener (Nylas sends no client certificate)',
            );
      const str = (k: string): string | undefined => {
        const v = t[k];
        if (v === undefined || v === null || v === '') return undefined;
        if (typeof v !== 'string') {
          at(`tls_server_config.${k}`, 'must be a string');
          return undefined;
        }
        return v;
      };
      const certFile = str('cert_file');
      const keyFile = str('key_file');
      const caFile = str('client_ca_file');
      if (!certFile) at('tls_server_config.cert_file', 'required with tls_server_config');
      if (!keyFile) at('tls_server_config.key_file', 'required with tls_server_config');
      const cert = certFile ? read(fileOf(certFile), 'tls_server_config.cert_file') : undefined;
      const key = keyFile ? read(fileOf(keyFile), 'tls_server_config.key_file') : undefined;
      const ca = caFile ? read(fileOf(caFile), 'tls_server_config.client_ca_file') : undefined;
      for (const f of [certFile, keyFile, caFile]) if (f) files.push(fileOf(f));
      const x509 = cert !== undefined ? parseCert(cert) : undefined;
      if (cert !== undefined && !x509)
        at('tls_server_config.cert_file', `${shownPath(certFile)} holds no PEM certificate`);
      let keyOk = false;
      if (key !== undefined) {
        try {
          const k = createPrivateKey(key);
          keyOk = true;
          if (x509 && !x509.checkPrivateKey(k))
            at(
              'tls_server_config.key_file',
              `the key in ${shownPath(keyFile)} does not match the certificate in cert_file`,
            );
        } catch {
          at('tls_server_config.key_file', `${shownPath(keyFile)} holds no PEM private key`);
        }
      }
      if (ca !== undefined && !parseCert(ca))
        at('tls_server_config.client_ca_file', `${shownPath(caFile)} holds no PEM certificate`);
      const authRaw = str('client_auth_type') ?? 'NoClientCert';
      const clientAuth = CLIENT_AUTH_TYPES.find((c) => c === authRaw);
      if (!clientAuth)
        at('tls_server_config.client_auth_type', `allowed: ${CLIENT_AUTH_TYPES.join(', ')}`);
      // As the toolkit: a CA without a policy, or a verifying policy without a CA, is a mistake.
      if (clientAuth === 'NoClientCert' && caFile)
        at(
          'tls_server_config.client_ca_file',
          'set, but client_auth_type is NoClientCert; set client_auth_type: RequireAndVerifyClientCert',
        );
      if (
        (clientAuth === 'RequireAndVerifyClientCert' || clientAuth === 'VerifyClientCertIfGiven') &&
        !caFile
      )
        at('tls_server_config.client_auth_type', `${clientAuth} needs client_ca_file`);
      const version = (k: 'min_version' | 'max_version', def: keyof typeof TLS_VERSIONS) => {
        const v = str(k) ?? def;
        if (v in TLS_VERSIONS) return TLS_VERSIONS[v as keyof typeof TLS_VERSIONS];
        at(`tls_server_config.${k}`, `allowed: ${Object.keys(TLS_VERSIONS).join(', ')}`);
        return undefined;
      };
      // TLS 1.2 is the toolkit's default minimum too.
      const minVersion = version('min_version', 'TLS12');
      const maxVersion = version('max_version', 'TLS13');
      if (minVersion && maxVersion && minVersion > maxVersion)
        at('tls_server_config.min_version', 'is above max_version');
      if (
        cert !== undefined &&
        x509 &&
        key !== undefined &&
        keyOk &&
        clientAuth &&
        minVersion &&
        maxVersion
      )
        tls = { cert, key, ca, clientAuth, minVersion, maxVersion };
    }
  }

  const users = new Map<string, string>();
  const u = doc.basic_auth_users;
  if (u !== undefined && u !== null) {
    if (opts.allow === 'tls')
      at('basic_auth_users', 'not supported on this listener (Nylas cannot send basic auth)');
    else if (!isMap(u)) at('basic_auth_users', 'must be a mapping of username to bcrypt hash');
    else
      for (const [name, hash] of Object.entries(u)) {
        // Only the username: the value is a hash, or a password pasted in by mistake.
        if (typeof hash !== 'string' || !BCRYPT.test(hash))
          at(
            `basic_auth_users.${name}`,
            'not a bcrypt hash (make one with `htpasswd -nBC 10 "" | tr -d \':\\n\'`)',
          );
        else if (name.includes(':')) at(`basic_auth_users.${name}`, 'a username cannot hold ":"');
        else users.set(name, hash);
      }
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, config: { tls, users, files } };
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseCert(pem: string): X509Certificate | undefined {
  try {
    return new X509Certificate(pem);
  } catch {
    return undefined;
  }
}
