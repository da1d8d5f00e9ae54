// Latency exemplars as the sidecar exposes them in OpenMetrics, for the benchmark's check and the
// span export tests: each must name a span the receiver got, with its trace id and duration.

export interface Exemplar {
  /** The bucket's upper bound. */
  le: number;
  /** The bucket's lower bound (the previous le of the same series; 0 for the first). */
  above: number;
  traceId: string;
  spanId: string;
  value: number;
  /** Epoch seconds. */
  timestamp: number;
}

const BUCKET =
  /^nylas_api_request_duration_seconds_bucket\{(.*)\} \S+(?: # \{trace_id="([^"]*)",span_id="([^"]*)"\} (\S+) (\S+))?$/;

/** The exemplars of nylas_api_request_duration_seconds in an OpenMetrics exposition. */
export function parseExemplars(text: string): Exemplar[] {
  const out: Exemplar[] = [];
  let series = '';
  let above = 0;
  for (const l of text.split('\n')) {
    const m = BUCKET.exec(l);
    if (!m) continue;
    const labels = m[1]!;
    const leText = /le="([^"]*)"/.exec(labels)?.[1] ?? '';
    const le = leText === '+Inf' ? Infinity : Number(leText);
    const others = labels.replace(/,?le="[^"]*"/, '');
    if (others !== series) {
      series = others;
      above = 0;
    }
    if (m[2] !== undefined)
      out.push({
        le,
        above,
        traceId: m[2],
        spanId: m[3]!,
        value: Number(m[4]),
        timestamp: Number(m[5]),
      });
    above = le;
  }
  return out;
}

/**
 * What is wrong with an exemplar, given the span the receiver got under its span id (undefined
 * when none): the span must exist, carry the exemplar's trace id and last exactly its value, and
 * the value must sit in the exemplar's bucket. Undefined when nothing is.
 */
export function exemplarProblem(
  e: Exemplar,
  span: { traceId: string; seconds: number } | undefined,
): string | undefined {
  if (!span) return `span ${e.spanId} never reached the receiver`;
  if (span.traceId !== e.traceId)
    return `span ${e.spanId}: trace id ${span.traceId}, exemplar ${e.traceId}`;
  if (Math.abs(span.seconds - e.value) > 1e-5)
    return `span ${e.spanId}: ${span.seconds} s long, exemplar says ${e.value} s`;
  if (!(e.value <= e.le && e.value > e.above))
    return `exemplar ${e.value} s outside its bucket (${e.above}, ${e.le}]`;
  return undefined;
}
