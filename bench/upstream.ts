// The benchmark's fast fake Nylas: a plain node:http server with keep-alive that answers a
// ~2.5 KB JSON message list (`delay_ms=N` answers it N ms late), a 5 MB streamed download and
// a small JSON send. Run as a child
// process: `node dist/bench/upstream.js` prints {"port": N} on stdout once listening.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeBody } from '../test/helpers/download.js';

const messages = JSON.stringify({
  request_id: '5fa64c92-e840-4357-86b9-2aa364d35b88',
  data: Array.from({ length: 5 }, (_, i) => ({
    id: `msg-${i}-18d3c6b2a7f4e9c1`,
    grant_id: 'd2b6b8f4-63f5-4a8e-9d4c-3b7a1c1f2e9a',
    object: 'message',
    subject: `Quarterly planning notes, part ${i}`,
    from: [{ name: 'Ada Lovelace', email: 'ada@example.com' }],
    to: [{ name: 'Charles Babbage', email: 'charles@example.com' }],
    snippet:
      'Here are the notes from the planning session, with the action items we agreed on and owners.',
    folders: ['INBOX', 'UNREAD'],
    date: 1732400000 + i,
    unread: true,
    starred: false,
    thread_id: `thread-${i}-2b9e41c0`,
  })),
  next_cursor: 'CiQKIgoaMThkM2M2YjJhN2Y0ZTljMRIE',
});
const sent = JSON.stringify({ request_id: 'a1b2c3', data: { id: 'sent-1', object: 'message' } });
const chunk = Buffer.alloc(64 * 1024, 97);
const DOWNLOAD = 5 * 1024 * 1024;

const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
  const url = req.url ?? '/';
  if (url.includes('/download')) {
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': DOWNLOAD,
      'x-request-id': 'dl',
    });
    return writeBody(res, DOWNLOAD, chunk);
  }
  if (req.method === 'POST') {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(sent),
        'x-request-id': 'a1b2c3',
      });
      res.end(sent);
    });
    return;
  }
  const answer = () => {
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(messages),
      'x-request-id': '5fa64c92-e840-4357-86b9-2aa364d35b88',
      'nylas-provider-request-count': '1',
    });
    res.end(messages);
  };
  // `delay_ms=N` answers N ms late: the benchmark's exemplar check fills several latency buckets.
  const delay = url.includes('delay_ms=') ? Number(/delay_ms=(\d+)/.exec(url)?.[1] ?? 0) : 0;
  if (delay > 0) setTimeout(answer, delay);
  else answer();
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
