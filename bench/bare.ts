// The bare baseline of the waiting-room poll: a node:http server that answers every request with
// a status body shaped like GET /api/v1/queue/status, and does nothing else (no auth, no Redis).
//
//   node dist/bench/bare.js   → "listening <port>"
import { createServer } from 'node:http';
import { serveAsChild } from './lib/child';

const server = createServer((req, res) => {
  req.resume();
  const body = JSON.stringify({
    status: 'ACTIVE',
    position: 0,
    estimatedWaitSeconds: 0,
    expiresAt: new Date(Date.now() + 600_000).toISOString(),
  });
  res.writeHead(200, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
});

serveAsChild(server);
