import { describe, expect, it } from 'vitest';
import { safeReasonPhrase } from '../../src/proxy/reason-phrase.js';

describe('reason phrase', () => {
  it.each([
    [503, 'Сервис недоступен', 'Service Unavailable'],
    [503, 'Service Unavailable', 'Service Unavailable'],
    [200, 'Fine, thanks', 'Fine, thanks'],
    [429, 'Too Many\u0000Requests', 'Too Many Requests'],
    [599, 'é', undefined],
    [200, '', undefined],
    [200, undefined, undefined],
  ])('%i %j becomes %j', (status, phrase, expected) => {
    expect(safeReasonPhrase(status, phrase)).toBe(expected);
  });
});
