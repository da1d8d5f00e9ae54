import { Registry, type RegistryContentType } from 'prom-client';

export interface Exposition {
  contentType: string;
  body: string;
}

/** True when a scraper's Accept header asks for OpenMetrics. */
export function wantsOpenMetrics(accept: string | undefined): boolean {
  return accept !== undefined && accept.includes('application/openmetrics-text');
}

/**
 * Renders the registry in the format the scraper asked for. prom-client fixes a registry's
 * format at construction and, when rendering OpenMetrics, strips `_total` from counter names in
 * place; so renders are serialised, the format is switched for the duration of one render, and
 * counter names are put back afterwards.
 */
export function createExposition(
  registry: Registry<RegistryContentType>,
): (accept: string | undefined) => Promise<Exposition> {
  let queue: Promise<unknown> = Promise.resolve();
  const counterNames = new Map<{ name: string }, string>();

  const render = async (openMetrics: boolean): Promise<Exposition> => {
    for (const m of registry.getMetricsAsArray()) {
      const metric = m as unknown as { name: string; type: string };
      if (metric.type === 'counter' && !counterNames.has(metric))
        counterNames.set(metric, metric.name);
    }
    const contentType: RegistryContentType = openMetrics
      ? Registry.OPENMETRICS_CONTENT_TYPE
      : Registry.PROMETHEUS_CONTENT_TYPE;
    registry.setContentType(contentType);
    try {
      return { contentType, body: await registry.metrics() };
    } finally {
      registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
      for (const [metric, name] of counterNames) metric.name = name;
    }
  };

  return (accept) => {
    const next = queue.then(() => render(wantsOpenMetrics(accept)));
    queue = next.catch(() => undefined);
    return next;
  };
}
