// Steady app traffic for end-to-end tests: the real `nylas` SDK listing one message every
// 100 ms through each given proxy, so that rate windows fill while a test waits.
import { Nylas, type NylasClient } from '../../src/demo/nylas-sdk.js';

/** Where one traffic loop sends its calls: a sidecar proxy URL and a grant it knows. */
export interface TrafficTarget {
  apiUri: string;
  grantId: string;
}

export interface Traffic {
  /** Ends every loop after its call in flight; resolves once they have all ended. */
  stop(): Promise<void>;
}

/** One loop per target (failed calls are ignored: an outage scenario is part of the traffic). */
export function startSdkTraffic(apiKey: string, targets: TrafficTarget[]): Traffic {
  let running = true;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const loops = targets.map(async ({ apiUri, grantId }) => {
    const nylas: NylasClient = new Nylas({ apiKey, apiUri, timeout: 5 });
    while (running) {
      await nylas.messages
        .list({ identifier: grantId, queryParams: { limit: 1 } })
        .catch(() => undefined);
      await sleep(100);
    }
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}
