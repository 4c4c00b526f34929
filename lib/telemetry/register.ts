// Imported first by every entry point: starts telemetry before any instrumented library loads.
import { loadConfig } from '../config';
import { startTelemetry } from './telemetry';

try {
  startTelemetry(loadConfig().telemetry);
} catch {
  // An invalid configuration is reported by the entry point itself, with the other settings.
}
