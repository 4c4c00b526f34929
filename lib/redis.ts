// Redis connection with the configured key prefix (tests use their own prefix per run).
import Redis from 'ioredis';

export type { Redis };

export function createRedis(url: string, keyPrefix: string): Redis {
  return new Redis(url, {
    keyPrefix,
    maxRetriesPerRequest: 2,
    enableAutoPipelining: true,
    lazyConnect: false,
  });
}
