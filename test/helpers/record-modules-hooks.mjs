// The loader hook of ./record-modules.mjs: appends each resolved file: URL, as a path.
import { appendFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

let out;

export function initialize(data) {
  out = data.out;
}

export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  if (out && result.url.startsWith('file:')) appendFileSync(out, `${fileURLToPath(result.url)}\n`);
  return result;
}
