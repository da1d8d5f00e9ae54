import { describe, expect, it } from 'vitest';
import { MAX_COMPONENTS, readComponents } from '../../src/pollers/status-page.js';

describe('status-page components', () => {
  it('names each child with its group and leaves the group components out', () => {
    const { components, dropped } = readComponents([
      { id: 'g1', name: 'US', status: 'major_outage', group: true },
      { id: 'a', name: 'Consul', status: 'major_outage', group_id: 'g1' },
      { id: 'g2', name: 'EU', status: 'operational', group: true },
      { id: 'b', name: 'Consul', status: 'operational', group_id: 'g2' },
      { id: 'c', name: 'Consul', status: 'operational', group: null, group_id: null },
    ]);
    expect(components).toEqual([
      { name: 'Consul', group: 'US', status: 'major_outage' },
      { name: 'Consul', group: 'EU', status: 'operational' },
      { name: 'Consul', group: '', status: 'operational' },
    ]);
    expect(dropped).toBe(0);
  });

  it('keeps the worse status when two components share a group and a name', () => {
    for (const order of [
      ['operational', 'partial_outage'],
      ['partial_outage', 'operational'],
    ])
      expect(
        readComponents(order.map((status, i) => ({ id: `c${i}`, name: 'API', status }))),
      ).toEqual({ components: [{ name: 'API', group: '', status: 'partial_outage' }], dropped: 0 });
  });

  it('past the cap drops the least bad, keeps page order, and says how many', () => {
    const list = Array.from({ length: MAX_COMPONENTS + 7 }, (_, i) => ({
      id: `c${i}`,
      name: `C${i}`,
      status:
        i === MAX_COMPONENTS + 5 ? 'major_outage' : i === 3 ? 'under_maintenance' : 'operational',
    }));
    const { components, dropped } = readComponents(list);
    expect(dropped).toBe(7);
    expect(components).toHaveLength(MAX_COMPONENTS);
    const names = components.map((c) => c.name);
    expect(names).toContain(`C${MAX_COMPONENTS + 5}`);
    expect(names).toContain('C3');
    expect(names.at(-1)).toBe(`C${MAX_COMPONENTS + 5}`);
    expect(names.slice(0, 3)).toEqual(['C0', 'C1', 'C2']);
  });
});
