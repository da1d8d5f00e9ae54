// The simulator's pure parts: fault patches, scenarios, the seeded data and grant statuses.
import { describe, expect, it } from 'vitest';
import { applyFaultsPatch, FaultsError, noFaults } from '../../src/simulator/faults.js';
import { applyScenario, SCENARIOS, UnknownScenarioError } from '../../src/simulator/scenarios.js';
import { Grants, seedWebhooks } from '../../src/simulator/state.js';
import { StatusPage } from '../../src/simulator/status-page.js';
import {
  grantEmail,
  grantId,
  grantIndexOfEmail,
  grantIndexOfId,
  KIND,
  messageObject,
  objectId,
  objectIndex,
} from '../../src/simulator/data.js';
import { createSimulator } from '../../src/simulator/index.js';

describe('fault patches', () => {
  it('applies a valid patch and keeps the other faults', () => {
    const f = applyFaultsPatch(noFaults(), {
      latencyMs: 250,
      errors: [{ rate: 0.5, status: 503, type: 'api.internal_error', families: ['messages'] }],
    });
    expect(f).toMatchObject({ latencyMs: 250, resetRate: 0 });
    expect(f.errors).toEqual([
      {
        rate: 0.5,
        status: 503,
        type: 'api.internal_error',
        message: undefined,
        families: ['messages'],
      },
    ]);
  });

  it.each([
    [{ resetRate: 1.5 }, 'resetRate must be a number from 0 to 1'],
    [{ latencyMs: -1 }, 'latencyMs must be a number >= 0'],
    [{ nope: 1 }, 'unknown fault "nope"'],
    [
      { errors: [{ rate: 0.1, status: 200, type: 'x' }] },
      'errors[0].status must be an integer from 400 to 599',
    ],
    [{ errors: [{ rate: 0.1, status: 500 }] }, 'errors[0].type must be a non-empty string'],
    [{ families: ['mail'] }, 'families must be an array of: grants'],
    [[1, 2], 'the faults patch must be a JSON object'],
  ])('rejects %j with a message that says why', (patch, message) => {
    expect(() => applyFaultsPatch(noFaults(), patch)).toThrow(FaultsError);
    expect(() => applyFaultsPatch(noFaults(), patch)).toThrow(message);
  });
});

describe('scenarios', () => {
  const target = () => ({
    webhooks: seedWebhooks(1, 1_700_000_000),
    statusPage: new StatusPage(1, () => 1_700_000_000_000),
    nowSec: 1_700_000_000,
  });

  it('names the valid scenarios when one is unknown', () => {
    expect(() => applyScenario('meltdown', target())).toThrow(UnknownScenarioError);
    expect(() => applyScenario('meltdown', target())).toThrow(
      `valid scenarios: ${SCENARIOS.join(', ')}`,
    );
    expect(() => createSimulator().setScenario('meltdown')).toThrow(/valid scenarios: healthy/);
  });

  it('starts every scenario from a clean world: healthy undoes webhook-failing and platform-incident', () => {
    const t = target();
    applyScenario('webhook-failing', t);
    expect([...t.webhooks.values()].map((w) => w.status)).toEqual(['failed', 'failing', 'failing']);
    applyScenario('platform-incident', t);
    expect([...t.webhooks.values()].every((w) => w.status === 'active')).toBe(true);
    expect(t.statusPage.snapshot()).toMatchObject({
      indicator: 'major',
      incidents: [{ impact: 'major' }],
    });
    const faults = applyScenario('healthy', t);
    expect(faults).toEqual(noFaults());
    expect(t.statusPage.snapshot()).toMatchObject({ indicator: 'none', incidents: [] });
  });
});

describe('seeded data', () => {
  it('is the same for the same seed and different for another', () => {
    expect(grantId(5, 123)).toBe(grantId(5, 123));
    expect(grantId(5, 123)).not.toBe(grantId(6, 123));
    expect(messageObject(5, 3, 10)).toEqual(messageObject(5, 3, 10));
  });

  it('resolves ids and emails back to their index, and refuses forged ones', () => {
    const id = grantId(9, 49_999);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(grantIndexOfId(9, id)).toBe(49_999);
    expect(grantIndexOfId(9, `0${id.slice(1)}`)).toBe(-1);
    expect(grantIndexOfEmail(9, grantEmail(9, 777))).toBe(777);
    expect(grantIndexOfEmail(9, 'someone.777@example.com')).toBe(-1);
    const mid = objectId(9, KIND.message, 4, 17);
    expect(objectIndex(9, KIND.message, 4, mid)).toBe(17);
    expect(objectIndex(9, KIND.thread, 4, mid)).toBe(-1);
  });

  it('starts exactly invalidGrants grants invalid, spread over the range, and overrides win', () => {
    const g = new Grants(1, 10_000, 250);
    const f = noFaults();
    const invalid = [];
    for (let i = 0; i < 10_000; i++) if (g.status(i, f) === 'invalid') invalid.push(i);
    expect(invalid).toHaveLength(250);
    expect(invalid.some((i) => i > 9_000)).toBe(true);
    g.overrides.set(invalid[0]!, 'valid');
    expect(g.status(invalid[0]!, f)).toBe('valid');
  });

  it('makes about invalidGrantShare of the grants invalid, always the same ones', () => {
    const g = new Grants(1, 10_000, 0);
    const f = { ...noFaults(), invalidGrantShare: 0.4 };
    let n = 0;
    for (let i = 0; i < 10_000; i++) if (g.status(i, f) === 'invalid') n++;
    expect(n).toBeGreaterThan(3_800);
    expect(n).toBeLessThan(4_200);
    expect(g.status(17, f)).toBe(g.status(17, f));
  });
});
