// The gateway's Redis user as the rendered manifests define it, in a real redis-server (the one
// on PATH; skipped only where there is none): make k8s-validate judges the ACL line by parsing
// it, this proves Redis reads it the same way. With the gateway's REDIS_URL a client may
// SUBSCRIBE to <REDIS_KEY_PREFIX>queue:ended and hears what the queue (the default user)
// publishes there, and is refused everything else; the gateway's own feed gets through ioredis's
// handshake. The server runs on a free port with no persistence, and is always stopped.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { expect } from 'chai';
import Redis from 'ioredis';
import { loadDeps, renderCluster } from './k8s-validate.mjs';

const ENDED_TOKENS_TS = join(dirname(fileURLToPath(import.meta.url)), '../gateway/endedTokens.ts');
const HAS_REDIS = spawnSync('redis-server', ['--version']).error?.code !== 'ENOENT';

async function freePort() {
  const srv = createServer().listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address();
  srv.close();
  return port;
}

/** redis-server in the foreground, once it accepts connections; its output in the error if not. */
async function startRedis(args) {
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`redis-server not ready within 10 s:\n${output}`));
    }, 10_000);
    const read = (chunk) => {
      output += chunk;
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited (${code}) with the manifest's args:\n${output}`));
    });
  });
  return child;
}

async function until(what, ok, ms = 5_000) {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("deploy/k8s: the gateway's Redis ACL user in a real redis-server", function () {
  this.timeout(60_000);
  let server;
  let dataDir;
  let gatewayUrl;
  let queueUrl;
  let prefix;
  let channel;
  const clients = [];
  const connect = async (url) => {
    const c = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0 });
    clients.push(c);
    await c.connect();
    return c;
  };
  const refused = async (command) => {
    const err = await command.then(
      () => undefined,
      (e) => e,
    );
    expect(err?.message, 'Redis must refuse it').to.match(/^NOPERM /);
  };

  before(async function () {
    if (!HAS_REDIS) {
      console.log(
        '      skipped: no redis-server on PATH (apt-get install redis-server); ' +
          'make k8s-validate still checks the ACL line by parsing it',
      );
      this.skip();
    }
    const deps = await loadDeps();
    const cluster = renderCluster(deps, 'base');
    const container = (name) => cluster.get('Deployment', name).spec.template.spec.containers[0];
    const port = await freePort();
    dataDir = mkdtempSync(join(tmpdir(), 'k8s-redis-acl-'));
    // The manifest's args exactly as the kubelet expands them, after a throwaway's own settings.
    const { args } = cluster.resolveArgs(container('redis'));
    server = await startRedis([
      ...['--port', String(port), '--bind', '127.0.0.1', '--dir', dataDir],
      ...['--save', '', '--appendonly', 'no'],
      ...args,
    ]);
    // Each process's REDIS_URL as lib/config.ts reads it from the pod's environment, pointed here.
    const redisOf = (proc) =>
      deps.config.loadConfig(Object.fromEntries(cluster.resolveEnv(container(proc)).vars)).redis;
    const here = (url) => {
      const u = new URL(url);
      u.host = `127.0.0.1:${port}`;
      return u.href;
    };
    const gateway = redisOf('gateway');
    gatewayUrl = here(gateway.url);
    queueUrl = here(redisOf('queue').url);
    prefix = gateway.keyPrefix;
    channel = prefix + deps.activePass.ENDED_TOKENS_CHANNEL;
  });

  after(async () => {
    for (const c of clients) c.disconnect();
    if (server && server.exitCode === null && server.signalCode === null) {
      server.kill('SIGTERM');
      await once(server, 'exit');
    }
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('lets the gateway subscribe to <prefix>queue:ended and hear what the default user publishes', async () => {
    const sub = await connect(gatewayUrl);
    const heard = new Promise((resolve) => sub.on('message', (...m) => resolve(m)));
    await sub.subscribe(channel);
    const queue = await connect(queueUrl);
    expect(await queue.publish(channel, '{"id":"t1"}')).to.equal(1);
    expect(await heard).to.deep.equal([channel, '{"id":"t1"}']);
  });

  for (const [what, run] of [
    ['SET', (gw) => gw.set(`${prefix}waiting`, 'x')],
    ['GET', (gw) => gw.get(`${prefix}waiting`)],
    ['PUBLISH (a forged end)', (gw) => gw.publish(channel, '{"id":"t1"}')],
    ['KEYS', (gw) => gw.keys('*')],
    // Subscribing commands each on a connection of their own: ioredis keeps one that tried in
    // subscriber mode.
    ['SUBSCRIBE to another channel', (gw) => gw.subscribe(`${prefix}queue:other`)],
    ['PSUBSCRIBE', (gw) => gw.psubscribe(`${prefix}*`)],
  ]) {
    it(`refuses the gateway ${what}`, async () => refused(run(await connect(gatewayUrl))));
  }

  it("lets the gateway's own feed (EndedTokenFeed) through ioredis's handshake", async () => {
    const { EndedTokenFeed } = await import(pathToFileURL(ENDED_TOKENS_TS).href);
    const queue = await connect(queueUrl);
    await queue.acl('LOG', 'RESET');
    const events = [];
    const tokens = {
      feedUp: () => events.push('up'),
      feedDown: () => events.push('down'),
      onEnded: (id) => events.push(`ended ${id}`),
    };
    const warnings = [];
    const log = {
      warn: (fields, message) => warnings.push(`${message} ${JSON.stringify(fields)}`),
    };
    const feed = new EndedTokenFeed(gatewayUrl, prefix, tokens, log);
    try {
      await until('the feed is subscribed', () => events.includes('up'));
      await queue.publish(channel, JSON.stringify({ id: 'ended-1' }));
      await until('the feed hears the end', () => events.includes('ended ended-1'));
      const listener = (await queue.client('LIST'))
        .split('\n')
        .find((line) => line.includes(` name=${channel}-listener `));
      expect(listener, 'CLIENT SETNAME was allowed').to.include(' user=gateway ');
      expect(warnings).to.deep.equal([]);
      const denied = (await queue.acl('LOG'))
        .map((entry) =>
          Object.fromEntries(entry.flatMap((v, i) => (i % 2 ? [] : [[v, entry[i + 1]]]))),
        )
        .map((e) => `${e.username}: ${e.reason} ${e.object}`);
      expect(denied, 'what Redis refused the feed').to.deep.equal([]);
    } finally {
      feed.close();
    }
  });
});
