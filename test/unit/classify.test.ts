import { describe, expect, it } from 'vitest';
import { gzipSync } from 'node:zlib';
import {
  classifyErrorBody,
  classifyUpstreamError,
  ClientAbortedError,
} from '../../src/proxy/classify.js';

const body = (v: unknown) => Buffer.from(JSON.stringify(v));

describe('classifyErrorBody', () => {
  it.each([
    ['not_found_error', 'not_found_error'],
    ['api.not_found_error', 'api.not_found_error'],
    ['api.rate_limit_error', 'api.rate_limit_error'],
    ['nylas_rate_limit_exceeded', 'nylas_rate_limit_exceeded'],
    ['provider_error', 'provider_error'],
    ['something.we.never.saw', 'other'],
  ])('keeps the Nylas error type %s as %s', (type, expected) => {
    expect(
      classifyErrorBody(body({ request_id: 'r', error: { type, message: 'm' } }), true, undefined),
    ).toEqual({
      errorType: expected,
      providerError: false,
      requestId: 'r',
    });
  });

  it('notices a provider_error (a provider throttle, not Nylas)', () => {
    const info = classifyErrorBody(
      body({
        request_id: 'r',
        error: { type: 'rate_limit_error', message: 'm', provider_error: { code: 'x' } },
      }),
      true,
      undefined,
    );
    expect(info.providerError).toBe(true);
  });

  it('reads OAuth and v2 error shapes', () => {
    expect(
      classifyErrorBody(body({ error: 'invalid_grant', error_code: 1 }), true, undefined).errorType,
    ).toBe('invalid_grant');
    expect(
      classifyErrorBody(body({ message: 'm', type: 'invalid_request_error' }), true, undefined)
        .errorType,
    ).toBe('invalid_request_error');
  });

  it('decompresses a gzip error body to read it', () => {
    const gz = gzipSync(body({ error: { type: 'api.internal_error', message: 'x' } }));
    expect(classifyErrorBody(gz, true, 'gzip').errorType).toBe('api.internal_error');
  });

  it.each([
    ['HTML', Buffer.from('<html>502 Bad Gateway</html>'), true, undefined],
    ['empty', Buffer.alloc(0), true, undefined],
    ['truncated copy', body({ error: { type: 'not_found_error' } }), false, undefined],
    ['JSON without an error', body({ data: [] }), true, undefined],
    ['a JSON array', body([1, 2]), true, undefined],
    ['broken gzip', Buffer.from('not gzip'), true, 'gzip'],
    ['unknown encoding', body({ error: { type: 'x' } }), true, 'zstd'],
  ])('calls a body that is not a Nylas error unparsed: %s', (_n, b, complete, enc) => {
    expect(classifyErrorBody(b, complete, enc).errorType).toBe('unparsed');
  });
});

describe('classifyUpstreamError', () => {
  const withCode = (code: string) => Object.assign(new Error('boom'), { code });

  it.each([
    'ECONNREFUSED',
    'ENOTFOUND',
    'EAI_AGAIN',
    'ECONNRESET',
    'UND_ERR_SOCKET',
    'CERT_HAS_EXPIRED',
    'EPROTO',
  ])('maps %s to 502 upstream_unavailable', (code) => {
    expect(classifyUpstreamError(withCode(code))).toMatchObject({
      status: 502,
      errorType: 'upstream_unavailable',
    });
  });

  it.each([
    'UND_ERR_HEADERS_TIMEOUT',
    'UND_ERR_BODY_TIMEOUT',
    'UND_ERR_CONNECT_TIMEOUT',
    'ETIMEDOUT',
  ])('maps %s to 504 upstream_timeout', (code) => {
    expect(classifyUpstreamError(withCode(code))).toMatchObject({
      status: 504,
      errorType: 'upstream_timeout',
    });
  });

  it('finds the code in the cause chain and recognises a client abort', () => {
    expect(
      classifyUpstreamError(new Error('wrapped', { cause: withCode('ETIMEDOUT') })).errorType,
    ).toBe('upstream_timeout');
    expect(classifyUpstreamError(new ClientAbortedError())).toMatchObject({
      status: 499,
      errorType: 'client_aborted',
    });
  });

  it('never puts the error message into what the app sees', () => {
    const failure = classifyUpstreamError(
      Object.assign(new Error('connect to 10.0.0.7 with token abc'), { code: 'ECONNREFUSED' }),
    );
    expect(failure.message).not.toContain('10.0.0.7');
    expect(failure.message).not.toContain('abc');
  });
});
