// The service contracts as protobufjs reflection objects, for what generated code drops: method
// options (google.api.http, route policy, access), field options and comments. The gateway
// builds its routes from them; every gRPC server reads its RPCs' access rules from them.
import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import * as protobuf from 'protobufjs';
import { PROTO_FILES, PROTO_INCLUDE_DIRS } from '../paths';

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
