import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Nylas } from '../../src/demo/nylas-sdk.js';

/** One request the installed `nylas` SDK sent, and the SDK call that sent it. */
export interface SdkRequest {
  /** e.g. `messages.find`. */
  call: string;
  method: string;
  /** Path and query as they reached the server (identifiers percent-encoded by the SDK). */
  url: string;
}

/**
 * Identifiers as real apps pass them: grants by email address (with a `+` tag) or UUID, objects
 * by UUID or by the provider's own id (Microsoft Graph ids carry `+`, `/` and `=`).
 */
export const IDENTITIES = [
  {
    grant: 'ada.lovelace+billing@example.com',
    id: (key: string) => `${hexOf(key)}-6f1c-4d2e-9a3b-0c1d2e3f4a5b`,
    provider: 'microsoft',
    domain: 'mail.example.com',
  },
  {
    grant: '8d6f1c2e-3b4a-4c5d-8e9f-0a1b2c3d4e5f',
    id: (key: string) => `AAMkAGI2TG93AAA=/${hexOf(key)}+Zj/EwLTA=`,
    provider: 'goo+gle/x=',
    domain: 'notify.example.org',
  },
] as const;

/** Eight hex digits from a key, so each parameter of a path gets its own identifier. */
function hexOf(key: string): string {
  let h = 0x811c9dc5;
  for (const c of key) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

/**
 * Fragments of every identifier the calls put in a path (`microsoft` is left out: a provider
 * name is a legitimate label value elsewhere).
 */
export function identifierValues(): string[] {
  return [
    ...IDENTITIES.flatMap((i) => [i.grant, i.domain]),
    'goo+gle/x=',
    '6f1c-4d2e-9a3b-0c1d2e3f4a5b',
    'AAMkAGI2TG93AAA=',
    '+Zj/EwLTA=',
  ];
}

/** Keys of a call's argument object that are not identifiers. */
const NOT_IDS = new Set(['requestBody', 'queryParams', 'overrides', 'signer']);

/**
 * A call's argument object: it answers whatever key the SDK method destructures, so the methods'
 * own code decides which identifiers a path needs. Keys read are recorded; a key in `absent`
 * reads as undefined (to reach a method's other branch, e.g. notetakers without a grant).
 */
function argumentsFor(
  identity: (typeof IDENTITIES)[number],
  absent: string | undefined,
  read: Set<string>,
) {
  const signer = {
    // Manage Domains calls are signed with a service account; the SDK asks its signer for headers.
    buildHeaders: ({ body }: { body?: unknown }) => ({
      headers: {
        'X-Nylas-Kid': 'kid',
        'X-Nylas-Timestamp': '1767225600',
        'X-Nylas-Nonce': 'nonce',
        'X-Nylas-Signature': 'signature',
      },
      serializedBody: body === undefined ? undefined : JSON.stringify(body),
    }),
  };
  return new Proxy(
    {},
    {
      get(_t, key) {
        if (typeof key !== 'string' || key === 'then') return undefined;
        read.add(key);
        if (key === absent) return undefined;
        if (key === 'requestBody') return {};
        if (key === 'signer') return signer;
        if (NOT_IDS.has(key)) return undefined;
        if (key === 'identifier' || key === 'grantId') return identity.grant;
        if (key === 'provider') return identity.provider;
        if (key === 'domainName') return identity.domain;
        return identity.id(key);
      },
      has: () => true,
    },
  );
}

/** Every resource method of a client, found by walking the instance (not from a list). */
function resourceMethods(client: object): { call: string; target: object; name: string }[] {
  const out: { call: string; target: object; name: string }[] = [];
  const seen = new Set<object>();
  const visit = (obj: object, prefix: string) => {
    if (seen.has(obj)) return;
    seen.add(obj);
    for (const [key, value] of Object.entries(obj)) {
      if (key === 'apiClient' || value === null || typeof value !== 'object') continue;
      if (Object.getPrototypeOf(value) === Object.prototype || Array.isArray(value)) continue;
      const names = new Set<string>();
      // Methods of the resource's own classes; the shared base (which holds _find) is plumbing.
      for (
        let proto = Object.getPrototypeOf(value) as object | null;
        proto && proto !== Object.prototype && !Object.hasOwn(proto, '_find');
        proto = Object.getPrototypeOf(proto) as object | null
      )
        for (const n of Object.getOwnPropertyNames(proto))
          if (n !== 'constructor' && typeof (proto as Record<string, unknown>)[n] === 'function')
            names.add(n);
      for (const n of names) out.push({ call: `${prefix}${key}.${n}`, target: value, name: n });
      visit(value as object, `${prefix}${key}.`);
    }
  };
  visit(client, '');
  return out;
}

/**
 * Drives every resource method of a real `Nylas` client against a recording server and returns
 * the requests it sent: each method once per identity, then once more without each identifier it
 * read, so both branches of an optional one are reached. Calls that send nothing (URL builders,
 * helpers) or that the SDK refuses are skipped.
 */
export async function recordSdkRequests(): Promise<SdkRequest[]> {
  const got: { method: string; url: string }[] = [];
  const server = createServer((req, res) => {
    got.push({ method: req.method ?? '', url: req.url ?? '' });
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'x-request-id': 'rec' });
      res.end('{"request_id":"rec","data":[]}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const apiUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new Nylas({ apiKey: 'nyk_recording_key', apiUri, timeout: 10 });
  const out: SdkRequest[] = [];
  const run = async (m: { call: string; target: object; name: string }, args: object) => {
    const before = got.length;
    try {
      const fn = (m.target as Record<string, (a: object) => unknown>)[m.name]!;
      // await takes a value as it is and waits for a promise (or the SDK's list thenable).
      const value = (await fn.call(m.target, args)) as
        { destroy?: () => void; cancel?: () => Promise<void> } | undefined;
      // A stream download answers a stream: close it.
      value?.destroy?.();
      await value?.cancel?.();
    } catch {
      // A helper that needs arguments of another shape sends nothing; that is all we learn.
    }
    for (const g of got.slice(before)) out.push({ call: m.call, ...g });
  };
  try {
    for (const m of resourceMethods(client)) {
      for (const identity of IDENTITIES) {
        const read = new Set<string>();
        await run(m, argumentsFor(identity, undefined, read));
        for (const key of read)
          if (!NOT_IDS.has(key)) await run(m, argumentsFor(identity, key, new Set()));
      }
    }
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
  return out;
}

/**
 * Path templates written in the installed SDK's resource code (its built ESM files), e.g.
 * `/v3/grants/{identifier}/messages/{messageId}`: the check that driving the client reached them
 * all.
 */
export function sdkSourceTemplates(): string[] {
  const require = createRequire(import.meta.url);
  // The package exports no subpaths; its CommonJS entry sits at the package root.
  const root = dirname(require.resolve('nylas'));
  const dir = join(root, 'lib', 'esm', 'resources');
  const found = new Set<string>();
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.js')))
    for (const m of readFileSync(join(dir, f), 'utf8').matchAll(/['"`](\/v3\/[^'"`]*)['"`]/g))
      found.add(m[1]!);
  return [...found].sort();
}

/** A template's shape with parameter names dropped: `/v3/grants/{}/messages/{}`. */
export function shapeOf(template: string): string {
  return template.replace(/\{[^}]*\}/g, '{}');
}

/** Whether a request path (no query) fits a template's shape. */
export function fits(template: string, path: string): boolean {
  const t = template.split('/');
  const p = path.split('/');
  return t.length === p.length && t.every((s, i) => s.startsWith('{') || s === p[i]);
}
