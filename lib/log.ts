// Structured JSON logging (pino). One root logger per process; components take a child.
import pino from 'pino';

export type Logger = pino.Logger;

export function createLogger(level: string, name = 'boxoffice'): Logger {
  return pino({ name, level, base: { pid: process.pid } });
}
