import { createRequire } from 'node:module';

type NodeCron = typeof import('node-cron').default;

let loaded: NodeCron | undefined;

/**
 * node-cron, loaded the first time a schedule is checked or started: a proxy-role instance, in
 * every app pod, runs no poller and never needs it. Synchronous (its CommonJS build), because
 * configuration loading and poller creation are.
 */
export function nodeCron(): NodeCron {
  return (loaded ??= createRequire(import.meta.url)('node-cron') as NodeCron);
}
