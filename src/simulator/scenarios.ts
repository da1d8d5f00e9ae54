// Named scenarios: a set of faults plus the state of webhook destinations and the status page.
import type { Faults } from './faults.js';
import { noFaults } from './faults.js';
import type { Channel } from './channels.js';
import type { WebhookDestination } from './state.js';
import type { StatusPage } from './status-page.js';

export interface ScenarioTarget {
  webhooks: Map<string, WebhookDestination>;
  /** Pub/Sub and SNS channels: they follow the destinations' status in scenarios. */
  channels?: Map<string, Channel>;
  statusPage: StatusPage;
  nowSec: number;
}

interface Scenario {
  description: string;
  faults: Partial<Faults>;
  apply?: (t: ScenarioTarget) => void;
  /** A grant expires this often (with grant notifications on); re-authentications follow. */
  grantExpiryEverySeconds?: number;
}

function setAllWebhooks(t: ScenarioTarget, status: WebhookDestination['status']): void {
  for (const w of [...t.webhooks.values(), ...(t.channels?.values() ?? [])]) {
    if (w.status !== status) w.status_updated_at = t.nowSec;
    w.status = status;
  }
}

const DEFINITIONS: Record<string, Scenario> = {
  healthy: { description: 'no faults; everything valid, active and operational', faults: {} },
  outage: {
    description:
      'most API calls fail: 5xx JSON errors, HTML 502s from the edge and connection resets',
    faults: {
      errors: [
        {
          rate: 0.5,
          status: 503,
          type: 'api.internal_error',
          message: 'Service temporarily unavailable',
        },
        { rate: 0.3, status: 500, type: 'api.internal_error', message: 'Internal server error' },
      ],
      htmlErrorRate: 0.25,
      resetRate: 0.1,
    },
  },
  degraded: {
    description: 'slow answers (fixed plus a long tail) and some 5xx and provider timeouts',
    faults: {
      latencyMs: 400,
      latencyTailRate: 0.2,
      latencyTailMs: 1500,
      errors: [
        { rate: 0.08, status: 504, type: 'provider_error', message: 'Provider request timed out.' },
        { rate: 0.05, status: 500, type: 'api.internal_error', message: 'Internal server error' },
      ],
    },
  },
  'rate-limited': {
    description:
      'many 429s, from Nylas (nylas_rate_limit_exceeded) and from the provider (rate_limit_error)',
    faults: { nylasRateLimitRate: 0.3, providerRateLimitRate: 0.3, retryAfterSeconds: 2 },
  },
  'invalid-grants': {
    description:
      'a large share (40%) of grants invalid: grant calls answer 401 and the grants list shows them',
    faults: { invalidGrantShare: 0.4 },
  },
  'accounts-stopped': {
    description: 'v2: a third of the accounts have stopped syncing (sync_state stopped)',
    faults: { stoppedAccountShare: 0.34 },
  },
  'webhook-failing': {
    description:
      'webhook destinations and notification channels failing (one destination failed, one failing for 30 hours); the demo app endpoint answers 500 or slowly',
    faults: {},
    apply: (t) => {
      setAllWebhooks(t, 'failing');
      // One destination well on its way to failed: a day and a quarter of the 72 hours gone.
      const [, second] = [...t.webhooks.values()];
      if (second) second.status_updated_at = t.nowSec - 30 * 3600;
      const first = t.webhooks.values().next();
      if (!first.done) first.value.status = 'failed';
    },
  },
  'grant-expiry': {
    description:
      'a grant expires every 20 s and Nylas sends grant.expired (then grant.updated when its user re-authenticates): the webhook listener shows it on / before the next grants poll',
    faults: {},
    grantExpiryEverySeconds: 20,
  },
  'platform-incident': {
    description:
      'a major incident is open on the status page; API and Email Sync degraded; some API errors',
    faults: {
      errors: [
        {
          rate: 0.1,
          status: 503,
          type: 'api.internal_error',
          message: 'Service temporarily unavailable',
        },
      ],
    },
    apply: (t) => {
      t.statusPage.setComponentStatus('API', 'partial_outage');
      t.statusPage.setComponentStatus('Email Sync', 'degraded_performance');
      t.statusPage.openIncident({
        name: 'Elevated API error rates',
        impact: 'major',
        status: 'identified',
        components: ['API', 'Email Sync'],
      });
    },
  },
  'platform-critical': {
    description:
      'a critical incident in monitoring while the indicator still reads none and every component is operational, as real pages post one',
    faults: {},
    apply: (t) => {
      t.statusPage.openIncident({
        name: 'Elevated error rates on the API',
        impact: 'critical',
        status: 'monitoring',
      });
      t.statusPage.setIndicator('none');
    },
  },
  'platform-maintenance': {
    description:
      'a scheduled maintenance in progress and nothing worse: indicator maintenance, Dashboard under maintenance',
    faults: {},
    apply: (t) => {
      t.statusPage.startMaintenance('Dashboard database upgrade');
      t.statusPage.setComponentStatus('Dashboard', 'under_maintenance');
    },
  },
  'platform-regional': {
    description:
      'per-region component groups with the same names in each; Consul in major outage under US, operational under EU',
    faults: {},
    apply: (t) => {
      t.statusPage.addGroups();
      t.statusPage.setComponentStatus('Consul', 'major_outage', 'US');
    },
  },
};

/** Names of the built-in scenarios. */
export const SCENARIOS: readonly string[] = Object.freeze(Object.keys(DEFINITIONS));

export function describeScenario(name: string): string | undefined {
  return DEFINITIONS[name]?.description;
}

/** How often a grant expires in this scenario (ms), or undefined. */
export function grantExpiryInterval(name: string): number | undefined {
  const s = DEFINITIONS[name]?.grantExpiryEverySeconds;
  return s === undefined ? undefined : s * 1000;
}

/** Thrown for an unknown scenario; the message lists the valid ones. */
export class UnknownScenarioError extends Error {
  override readonly name = 'UnknownScenarioError';
}

/**
 * Puts the world into a scenario from scratch: faults replaced, every webhook destination back to
 * `active` and the status page reset before the scenario's own changes. Grant and account statuses
 * set explicitly (setGrantStatus, setAccountSyncState, upgrades) are kept.
 */
export function applyScenario(name: string, t: ScenarioTarget): Faults {
  const def = DEFINITIONS[name];
  if (!def)
    throw new UnknownScenarioError(
      `unknown scenario "${name}"; valid scenarios: ${SCENARIOS.join(', ')}`,
    );
  setAllWebhooks(t, 'active');
  t.statusPage.reset();
  def.apply?.(t);
  return { ...noFaults(), ...def.faults };
}
