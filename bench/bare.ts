// The bare baseline of the waiting-room poll: a node:http server that answers every request with
// a status body shaped like GET /api/v1/queue/status, and does nothing else (no auth, no Redis).
//
//   node dist/bench/bare.js   → "listening <port>"
import { createServer } from 'node:http';

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

server.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  process.stdout.write(`listening ${typeof addr === 'object' && addr ? addr.port : 0}\n`);
});

process.once('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  process.exit(0);
});
