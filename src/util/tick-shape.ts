// Keeps Node's `process.nextTick` on V8's fast path for the life of the process.
//
// Node 20 builds each tick object as an object literal with computed symbol keys
// (`node:internal/process/task_queues`). V8 remembers the hidden classes (maps) that literal
// goes through only weakly. When a process idles long enough for three full garbage collections
// with no tick object alive (between bursts of traffic; the memory reducer runs them when a
// process goes quiet), those maps are collected. The next tick makes new ones, the literal's
// feedback turns megamorphic, and from then on every `nextTick`, in optimized code too, defines
// its keys through V8's runtime: about 40,000 instructions a proxied request, a quarter of what a
// bare proxy's whole request costs, for the rest of the process's life (measured with callgrind at
// saturation). Holding one tick object keeps its maps, and with them the
// feedback, as they were.
//
// The only way to reach a tick object from outside Node is the `init` hook of `async_hooks`,
// enabled here for one `nextTick` and disabled at once.
import { createHook } from 'node:async_hooks';

let held: object | undefined;

/** Holds one tick object for the process's life. Idempotent; answers whether one is held. */
export function holdTickObjectShape(): boolean {
  if (held) return true;
  const hook = createHook({
    init(_asyncId, type, _triggerAsyncId, resource) {
      if (type === 'TickObject' && !held) held = resource;
    },
  });
  hook.enable();
  try {
    process.nextTick(noop);
  } finally {
    hook.disable();
  }
  return held !== undefined;
}

function noop(): void {}
