// Unit tests of the chaos relay against local servers: it forwards both ways, a stall holds
// every byte without closing anything (on open and on new connections) until resume, and in
// front of several upstreams it hands connections round-robin, past one that is down.
import { expect } from 'chai';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { Relay } from './relay';

/** A server that echoes, or that greets each connection with its name and closes. */
async function serve(
  onConnection: (s: Socket) => void,
  sockets: Set<Socket>,
): Promise<{ server: Server; port: number }> {
  const server = createServer((s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
    onConnection(s);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (!address || typeof address !== 'object') throw new Error('no address');
  return { server, port: address.port };
}

const echo = (s: Socket) => {
  s.on('error', () => s.destroy());
  s.pipe(s);
};
const greeter = (name: string) => (s: Socket) => {
  s.on('error', () => s.destroy());
  s.end(name);
};

/** A client of the relay that collects what it receives. */
class Peer {
  readonly socket: Socket;
  received = '';
  closed = false;

  private constructor(port: number) {
    this.socket = connect(port, '127.0.0.1');
    this.socket.setEncoding('utf8');
    this.socket.on('data', (d: string) => (this.received += d));
    this.socket.on('error', () => undefined);
    this.socket.on('close', () => (this.closed = true));
  }

  static async open(port: number): Promise<Peer> {
    const p = new Peer(port);
    await once(p.socket, 'connect');
    return p;
  }

  /** Waits until `text` arrived, or fails after ms. */
  async expectText(text: string, ms = 2000): Promise<void> {
    const until = Date.now() + ms;
    while (!this.received.includes(text)) {
      if (Date.now() > until) throw new Error(`"${text}" never arrived (got "${this.received}")`);
      await sleep(10);
    }
  }

  async closedWithin(ms = 2000): Promise<void> {
    const until = Date.now() + ms;
    while (!this.closed) {
      if (Date.now() > until) throw new Error('the connection was not closed');
      await sleep(10);
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('chaos relay', () => {
  const servers: Server[] = [];
  const relays: Relay[] = [];
  const peers: Peer[] = [];
  const accepted = new Set<Socket>();

  async function upstream(onConnection: (s: Socket) => void): Promise<number> {
    const { server, port } = await serve(onConnection, accepted);
    servers.push(server);
    return port;
  }

  async function relay(ports: number[]): Promise<Relay> {
    const r = new Relay(
      'test',
      ports.map((port) => ({ host: '127.0.0.1', port })),
    );
    relays.push(r);
    await r.listen();
    return r;
  }

  async function peer(port: number): Promise<Peer> {
    const p = await Peer.open(port);
    peers.push(p);
    return p;
  }

  afterEach(async () => {
    for (const p of peers.splice(0)) p.socket.destroy();
    await Promise.all(relays.splice(0).map((r) => r.close()));
    for (const s of accepted) s.destroy();
    for (const s of servers.splice(0))
      await new Promise<void>((resolve) => s.close(() => resolve()));
  });

  it('forwards both ways', async () => {
    const r = await relay([await upstream(echo)]);
    const p = await peer(r.port);
    p.socket.write('hello');
    await p.expectText('hello');
    expect(r.connections).to.equal(1);
  });

  it('holds every byte while stalled, closes nothing, and delivers them on resume', async () => {
    const r = await relay([await upstream(echo)]);
    const open = await peer(r.port);
    open.socket.write('before');
    await open.expectText('before');

    expect(r.stall()).to.equal(1);
    open.socket.write('-during');
    const late = await peer(r.port); // a connection made while stalled hears nothing either
    late.socket.write('late');
    await sleep(300);
    expect(open.received).to.equal('before');
    expect(late.received).to.equal('');
    expect(open.closed || late.closed).to.equal(false);

    r.resume();
    await open.expectText('before-during');
    await late.expectText('late');
  });

  it('holds a large transfer in a stall without losing or reordering a byte', async () => {
    const r = await relay([await upstream(echo)]);
    const p = await peer(r.port);
    const big = 'x'.repeat(1 << 20) + 'end';
    r.stall();
    p.socket.write(big);
    await sleep(200);
    expect(p.received.length).to.equal(0);
    r.resume();
    await p.expectText('end', 5000);
    expect(p.received).to.equal(big);
  });

  it('hands connections to its upstreams in turn', async () => {
    const r = await relay([await upstream(greeter('a')), await upstream(greeter('b'))]);
    const names: string[] = [];
    for (let i = 0; i < 4; i++) {
      const p = await peer(r.port);
      await p.closedWithin();
      names.push(p.received);
    }
    expect(names).to.deep.equal(['a', 'b', 'a', 'b']);
  });

  it('passes a connection on when an upstream refuses it, and closes it when all do', async () => {
    const down = await upstream(echo);
    const up = await upstream(greeter('up'));
    await new Promise<void>((resolve) => servers.shift()!.close(() => resolve()));
    const r = await relay([down, up]);
    for (let i = 0; i < 2; i++) {
      const p = await peer(r.port);
      await p.closedWithin();
      expect(p.received).to.equal('up');
    }
    const none = await relay([down]);
    const p = await peer(none.port);
    await p.closedWithin();
    expect(p.received).to.equal('');
  });

  it('cuts every connection when closed', async () => {
    const r = await relay([await upstream(echo)]);
    const p = await peer(r.port);
    p.socket.write('x');
    await p.expectText('x');
    r.stall();
    await r.close();
    await p.closedWithin();
    expect(r.connections).to.equal(0);
  });
});
