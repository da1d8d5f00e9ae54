import { describe, expect, it } from 'vitest';
import { redactCredentials } from '../../src/util/redact.js';

describe('redactCredentials', () => {
  it.each([
    ['https://user:pa55@api.example.com/v3', 'https://****@api.example.com/v3'],
    ['http://token@app:8080/hook', 'http://****@app:8080/hook'],
    ['user:pa55@host:8080', '****@host:8080'],
    // Unencoded `@`, `/` and `,` in a password: the URL does not parse, the password is masked anyway.
    ['https://user:p@s/s,w@host/x', 'https://****@host/x'],
    ['https://app.example/hook?token=t0k&x=1', 'https://app.example/hook?token=****&x=****'],
    ['not a url?token=t0k', 'not a url?token=****'],
    ['https://app.example/cb#access_token=t0k', 'https://app.example/cb#access_token=****'],
    ['https://app.example/?bare-secret', 'https://app.example/?****'],
    ['ftp://u:pw@h/?a=b', 'ftp://****@h/?a=****'],
    ['value "https://u:pw@h/?k=v" in quotes', 'value "https://****@h/?k=****" in quotes'],
  ])('masks %s', (input, output) => {
    expect(redactCredentials(input)).toBe(output);
  });

  it.each([
    '127.0.0.1:4000',
    ':4000',
    '*/5 * * * *',
    '0 ? * * *',
    '@hourly',
    '0.05,0.1,0.25',
    'https://api.us.nylas.com',
    'http://[::1]:8080/v3/grants',
    'allowed: an http:// or https:// URL without credentials (the Nylas API base)',
  ])('leaves %s as it is', (input) => {
    expect(redactCredentials(input)).toBe(input);
  });
});
