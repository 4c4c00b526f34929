// What the gateway reads of the contracts' protobufjs reflection objects (loaded by
// lib/grpc/protos.ts) beyond the generated code: JSON names, presence, field_behavior, comments.
import * as protobuf from 'protobufjs';

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

/** A proto comment as one line of documentation, or undefined. */
export function describe(comment: string | null | undefined): string | undefined {
  const text = comment?.replace(/\s+/g, ' ').trim();
  return text ? text : undefined;
}
