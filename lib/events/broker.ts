// One AMQP connection per process, opened lazily and again after the broker went away (its
// users retry with backoff), and the topology every publisher and consumer shares: a durable
// topic exchange of events.
import amqp, { type ChannelModel, type ConfirmChannel } from 'amqplib';
import type { Logger } from '../log';

export interface BrokerOptions {
  url: string;
  /** The topic exchange events are published to (routing key = event type). */
  exchange: string;
}

export class Broker {
  private conn: ChannelModel | undefined;
  private connecting: Promise<ChannelModel> | undefined;
  private closed = false;

  constructor(
    readonly opts: BrokerOptions,
    private readonly log: Logger,
  ) {}

  /** A confirm channel on the live connection (connecting first if needed). */
  async confirmChannel(): Promise<ConfirmChannel> {
    const conn = await this.connection();
    const ch = await conn.createConfirmChannel();
    ch.on('error', (err: unknown) => this.log.warn({ err }, 'AMQP channel error'));
    return ch;
  }

  get connected(): boolean {
    return this.conn !== undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    const conn = this.conn;
    this.conn = undefined;
    await conn?.close().catch(() => undefined);
  }

  private connection(): Promise<ChannelModel> {
    if (this.conn) return Promise.resolve(this.conn);
    if (this.closed) return Promise.reject(new Error('broker connection is closed'));
    this.connecting ??= this.open().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private async open(): Promise<ChannelModel> {
    const conn = await amqp.connect(this.opts.url);
    conn.on('error', (err: unknown) => this.log.warn({ err }, 'AMQP connection error'));
    conn.on('close', () => {
      if (this.conn === conn) this.conn = undefined;
      if (!this.closed) this.log.warn('AMQP connection closed; will reconnect');
    });
    const ch = await conn.createChannel();
    await ch.assertExchange(this.opts.exchange, 'topic', { durable: true });
    await ch.close();
    this.conn = conn;
    return conn;
  }
}
