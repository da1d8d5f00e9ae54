// A large response body written in chunks with backpressure, never held whole: the download of
// the tests' fake upstream and of the benchmark's.
import type { ServerResponse } from 'node:http';

/**
 * Writes `bytes` bytes of `chunk` (repeated, the last one cut to size) to `res`, waiting for
 * 'drain' whenever the socket's buffer is full, then ends the response.
 */
export function writeBody(res: ServerResponse, bytes: number, chunk: Buffer): void {
  let left = bytes;
  const pump = () => {
    while (left > 0) {
      const n = Math.min(left, chunk.length);
      left -= n;
      if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n)))
        return void res.once('drain', pump);
    }
    res.end();
  };
  pump();
}
