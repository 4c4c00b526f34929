// The service contracts as protobufjs reflection objects. The gateway reads them at start-up
// instead of the generated code because it needs what ts-proto drops: method options
// (google.api.http, our route policy), field options (field_behavior) and comments.
import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import * as protobuf from 'protobufjs';
import { PROTO_FILES, PROTO_INCLUDE_DIRS } from '../lib/paths';

/** Every contract file; services without an http annotation simply yield no route. */
export const CONTRACT_FILES: readonly string[] = Object.values(PROTO_FILES);

/**
 * Loads proto files (relative to the include dirs, or absolute) into one resolved Root.
 * keepCase keeps the proto field names: path templates and query parameters use them, and
 * the JSON names are derived from them by the proto3 rule (jsonName below).
 */
export function loadProtos(files: readonly string[] = CONTRACT_FILES): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    if (isAbsolute(target)) return target;
    for (const dir of PROTO_INCLUDE_DIRS) {
      const candidate = join(dir, target);
      if (existsSync(candidate)) return candidate;
    }
    return target;
  };
  root.loadSync([...files], { keepCase: true, alternateCommentMode: true });
  root.resolveAll();
  return root;
}

/** The proto3 JSON name of a field: json_name when declared, else protoc's lowerCamelCase. */
export function jsonName(field: protobuf.Field): string {
  const declared: unknown = field.options?.json_name;
  if (typeof declared === 'string' && declared !== '') return declared;
  let out = '';
  let upper = false;
  for (const ch of field.name) {
    if (ch === '_') {
      upper = true;
    } else {
      out += upper ? ch.toUpperCase() : ch;
      upper = false;
    }
  }
  return out;
}

/** True for a field whose absence is observable: proto3 `optional`, oneof members, messages. */
export function hasPresence(field: protobuf.Field): boolean {
  if (field.repeated || field.map) return false;
  if (field.partOf) return true;
  return field.resolvedType instanceof protobuf.Type;
}

/** True when the field carries (google.api.field_behavior) = REQUIRED. */
export function isRequired(field: protobuf.Field): boolean {
  const behavior: unknown = field.options?.['(google.api.field_behavior)'];
  return Array.isArray(behavior) ? behavior.includes('REQUIRED') : behavior === 'REQUIRED';
}

/** Merged value of one custom method option, e.g. '(google.api.http)'. */
export function methodOption(
  method: protobuf.Method,
  name: string,
): Record<string, unknown> | undefined {
  let merged: Record<string, unknown> | undefined;
  for (const entry of (method.parsedOptions ?? []) as Record<string, unknown>[]) {
    const value = entry[name];
    if (value && typeof value === 'object')
      merged = { ...merged, ...(value as Record<string, unknown>) };
  }
  return merged;
}

/** A proto comment as one line of documentation, or undefined. */
export function describe(comment: string | null | undefined): string | undefined {
  const text = comment?.replace(/\s+/g, ' ').trim();
  return text ? text : undefined;
}
