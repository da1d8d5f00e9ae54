// Validates Kubernetes objects against the OpenAPI schemas that kubernetes-models and
// @kubernetes-models/prometheus-operator compile, and also rejects fields the schema does not
// know: the compiled validators ignore unknown properties, so a typo such as `livenessProbee`
// or `restartPolicyy` would pass them and be dropped silently by the API server.
import {
  PodMonitor,
  PrometheusRule,
} from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { ConfigMap, Service } from 'kubernetes-models/v1';

/**
 * A model class: built from a plain object, `validate()` throws on a schema violation. Each
 * constructor types its own input; `never` admits them all, and the input is checked by
 * validate(), not by the compiler.
 */
type ModelClass = new (data: never) => { validate(): void };

/** Each kind the manifests may contain; any other kind fails validation (no model, no check). */
const MODELS: Record<string, ModelClass> = {
  'apps/v1/Deployment': Deployment,
  'v1/Service': Service,
  'v1/ConfigMap': ConfigMap,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'monitoring.coreos.com/v1/PodMonitor': PodMonitor,
  'monitoring.coreos.com/v1/PrometheusRule': PrometheusRule,
};

/** A Kubernetes object as read from YAML. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

/**
 * Wraps `value` so that every own property the validator reads is recorded in `seen` by its
 * path. A property the validator never reads is one its schema does not declare.
 */
function track(value: unknown, path: string, seen: Set<string>, cache: WeakMap<object, object>) {
  if (value === null || typeof value !== 'object') return value;
  const cached = cache.get(value);
  if (cached) return cached;
  const proxy = new Proxy(value, {
    get(target, key, receiver) {
      if (typeof key === 'string' && Object.hasOwn(target, key)) {
        seen.add(`${path}/${key}`);
        return track((target as Record<string, unknown>)[key], `${path}/${key}`, seen, cache);
      }
      return Reflect.get(target, key, receiver) as unknown;
    },
  });
  cache.set(value, proxy);
  return proxy;
}

/** Paths of object properties (not array items) under `value` that are not in `seen`. */
function unread(value: unknown, path: string, seen: Set<string>, out: string[] = []): string[] {
  if (value === null || typeof value !== 'object') return out;
  for (const [key, child] of Object.entries(value)) {
    const p = `${path}/${key}`;
    if (!Array.isArray(value) && !seen.has(p)) out.push(p);
    unread(child, p, seen, out);
  }
  return out;
}

/**
 * Validates one object against the schema of its apiVersion and kind; throws with the object's
 * kind and name on a violation, an unknown field, or a kind without a model.
 */
export function validateObject(obj: K8sObject): void {
  const where = `${obj.kind} ${obj.metadata?.name ?? '(no name)'}`;
  const Model = MODELS[`${obj.apiVersion}/${obj.kind}`];
  if (!Model) throw new Error(`${where}: no schema model for ${obj.apiVersion} ${obj.kind}`);
  const model = new Model(obj as never);
  const seen = new Set<string>();
  // The validator reads the model through the proxy, so every field it knows is recorded.
  try {
    model.validate.call(track(model, '', seen, new WeakMap()));
  } catch (err) {
    throw new Error(`${where}: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
  const unknown = unread(model, '', seen);
  if (unknown.length > 0) throw new Error(`${where}: unknown fields ${unknown.join(', ')}`);
}
