// A TCP relay the chaos runner owns, between a process of the mesh and a server it talks to.
// In front of MariaDB it can stall: every byte stops in both directions, no connection is
// closed, and it flows on when resumed — a network that hangs, not one that fails. In front of
// several coordinators it balances connections round-robin, as a Kubernetes Service does
// (per connection, not per call), and passes a connection on to the next upstream when one
// refuses it (a process that is down).
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface Upstream {
  host: string;
  port: number;
}

/** One client connection and its upstream connection, forwarded both ways. */
class Link {
  private upstream: Socket | undefined;
  /** A direction waiting for its writer to drain: resume() must not start it early. */
  private readonly draining = new Set<Socket>();

  constructor(
    readonly client: Socket,
    private readonly isStalled: () => boolean,
    private readonly onClose: (link: Link) => void,
  ) {
    // Nothing is read from the client until an upstream takes it.
    client.pause();
    client.on('error', () => this.destroy());
    client.once('close', () => this.destroy());
  }

  /** Connects to the upstreams in order, the first that accepts wins; false when none did. */
  async attach(upstreams: Upstream[]): Promise<boolean> {
    for (const u of upstreams) {
      if (this.client.destroyed) return false;
      const socket = await connectTo(u);
      if (!socket) continue;
      if (this.client.destroyed) {
        socket.destroy();
        return false;
      }
      this.upstream = socket;
      socket.on('error', () => this.destroy());
      socket.once('close', () => this.destroy());
      this.forward(this.client, socket);
      this.forward(socket, this.client);
      if (!this.isStalled()) this.resume();
      return true;
    }
    return false;
  }

  private forward(from: Socket, to: Socket): void {
    from.on('data', (chunk: Buffer) => {
      if (to.write(chunk)) return;
      from.pause();
      this.draining.add(from);
      to.once('drain', () => {
        this.draining.delete(from);
        if (!this.isStalled()) from.resume();
      });
    });
    // A half-close passes through; the other side ends once its writes are flushed.
    from.once('end', () => to.end());
  }

  stall(): void {
    this.client.pause();
    this.upstream?.pause();
  }

  resume(): void {
    for (const s of [this.client, this.upstream])
      if (s && !this.draining.has(s) && !s.destroyed) s.resume();
  }

  destroy(): void {
    this.client.destroy();
    this.upstream?.destroy();
    this.onClose(this);
  }
}

function connectTo(u: Upstream): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const socket = connect(u.port, u.host);
    const failed = () => {
      socket.destroy();
      resolve(undefined);
    };
    socket.once('error', failed);
    socket.once('connect', () => {
      socket.off('error', failed);
      resolve(socket);
    });
  });
}

export class Relay {
  private server: Server | undefined;
  private readonly links = new Set<Link>();
  private next = 0;
  private stalled = false;
  private boundPort = 0;

  constructor(
    readonly name: string,
    private readonly upstreams: Upstream[],
    /** 0 takes any free port (see port after listen()). */
    private readonly listenPort = 0,
  ) {
    if (upstreams.length === 0) throw new Error(`relay ${name} needs an upstream`);
  }

  /** Where the relay listens (after listen()). */
  get port(): number {
    return this.boundPort;
  }

  /** Open connections right now. */
  get connections(): number {
    return this.links.size;
  }

  get isStalled(): boolean {
    return this.stalled;
  }

  async listen(): Promise<void> {
    const server = createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.listenPort, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    const address = server.address();
    this.boundPort = typeof address === 'object' && address ? address.port : this.listenPort;
  }

  private accept(client: Socket): void {
    const link = new Link(
      client,
      () => this.stalled,
      (l) => this.links.delete(l),
    );
    this.links.add(link);
    // Round-robin: each connection starts at the next upstream and falls through the rest.
    const first = this.next++ % this.upstreams.length;
    const order = [...this.upstreams.slice(first), ...this.upstreams.slice(0, first)];
    void link.attach(order).then((ok) => {
      if (!ok) link.destroy();
    });
  }

  /** Stops every byte, both ways, on every connection (and on new ones) until resume(). */
  stall(): number {
    this.stalled = true;
    for (const l of this.links) l.stall();
    return this.links.size;
  }

  resume(): void {
    this.stalled = false;
    for (const l of this.links) l.resume();
  }

  /** Cuts every connection and stops listening. */
  async close(): Promise<void> {
    this.stalled = false;
    for (const l of [...this.links]) l.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
