// What server reflection hands out: the proto files' descriptors, each naming the files whose
// types it uses, so that clients which link strictly (grpcurl, buf curl) can rebuild them.
import {
  loadSync,
  type AnyDefinition,
  type EnumTypeDefinition,
  type MessageTypeDefinition,
  type PackageDefinition,
} from '@grpc/proto-loader';
import {
  FileDescriptorProto,
  type IDescriptorProto,
  type IFieldDescriptorProto,
  type IFileDescriptorProto,
} from 'protobufjs/ext/descriptor';

/**
 * Loads proto files for reflection, with the field names the .proto files declare. proto-loader
 * merges each package into one file descriptor and names no dependency in any of them, so a file
 * using another package's type would not link in a strict client; here every file names the
 * files it uses, and messages are shaped as protoc shapes them where strict clients check.
 */
export function loadForReflection(files: string[], includeDirs: string[]): PackageDefinition {
  const pkg = loadSync(files, { includeDirs, keepCase: true });
  const descriptors = fileDescriptors(pkg);
  for (const file of descriptors) reshapeMessages(file.messageType);
  const linked = linkFiles(descriptors).map((f) =>
    Buffer.from(FileDescriptorProto.encode(f).finish()),
  );
  return Object.fromEntries(
    Object.entries(pkg).map(([name, def]) => [
      name,
      isTypeDefinition(def) ? { ...def, fileDescriptorProtos: linked } : def,
    ]),
  );
}

/** The distinct file descriptors of a package definition (every type carries all of them). */
function fileDescriptors(pkg: PackageDefinition): IFileDescriptorProto[] {
  const files = new Map<string, IFileDescriptorProto>();
  for (const def of Object.values(pkg)) {
    if (!isTypeDefinition(def)) continue;
    for (const bytes of def.fileDescriptorProtos) {
      const file = FileDescriptorProto.decode(bytes) as unknown as IFileDescriptorProto;
      if (!files.has(file.name!)) files.set(file.name!, file);
    }
  }
  return [...files.values()];
}

/** A message or enum: the definitions that carry the file descriptors (services do not). */
function isTypeDefinition(
  def: AnyDefinition,
): def is MessageTypeDefinition<object, object> | EnumTypeDefinition {
  return Array.isArray((def as { fileDescriptorProtos?: unknown }).fileDescriptorProtos);
}

/** Sets each file's dependencies to the files declaring the types it uses. */
function linkFiles(files: IFileDescriptorProto[]): IFileDescriptorProto[] {
  const home = new Map<string, string>();
  for (const file of files) for (const type of declaredTypes(file)) home.set(type, file.name!);
  for (const file of files) {
    const uses = usedTypes(file).map(([ref, scope]) =>
      home.get(resolveType(ref, scope, home) ?? ''),
    );
    file.dependency = [...new Set(uses)]
      .filter((name): name is string => !!name && name !== file.name)
      .sort();
  }
  return files;
}

/**
 * Two things protobufjs does unlike protoc, which strict clients (Go's protodesc) refuse or trip
 * over: it copies each extension into the message it extends, as a field named by the
 * extension's full name ('.google.api.http'), which would make the extended file depend on its
 * extenders; and it names a map field's entry type `Statuses` where protoc says `StatusesEntry`.
 */
function reshapeMessages(messages: IDescriptorProto[] = []): void {
  for (const message of messages) {
    message.field = (message.field ?? []).filter((f) => !f.name!.startsWith('.'));
    for (const field of message.field) {
      const entry = message.nestedType?.find(
        (n) => n.options?.mapEntry && n.name === field.typeName,
      );
      if (entry) entry.name = field.typeName = mapEntryName(field.name!);
    }
    reshapeMessages(message.nestedType);
  }
}

/** protoc's entry name: the field name in CamelCase, then `Entry`. */
function mapEntryName(field: string): string {
  return `${field.replace(/(?:^|_)([a-z0-9])/g, (_, c: string) => c.toUpperCase())}Entry`;
}

/**
 * The fully qualified (leading dot) name `ref` means in `scope`, by protobuf's C++ rules, if
 * something in `declared` declares it.
 */
export function resolveType(
  ref: string,
  scope: string,
  declared: Map<string, string>,
): string | undefined {
  if (ref.startsWith('.')) return declared.has(ref) ? ref : undefined;
  for (let outer = scope; ; outer = outer.slice(0, Math.max(0, outer.lastIndexOf('.')))) {
    if (declared.has(`${outer}.${ref}`)) return `${outer}.${ref}`;
    if (outer === '') return undefined;
  }
}

/** Every message and enum a file declares, fully qualified. */
export function declaredTypes(file: IFileDescriptorProto): string[] {
  const out: string[] = [];
  const walk = (
    scope: string,
    messages: IDescriptorProto[] = [],
    enums: { name?: string }[] = [],
  ) => {
    for (const e of enums) out.push(`${scope}.${e.name}`);
    for (const m of messages) {
      out.push(`${scope}.${m.name}`);
      walk(`${scope}.${m.name}`, m.nestedType, m.enumType);
    }
  };
  walk(packageScope(file), file.messageType, file.enumType);
  return out;
}

/** The type names a file's fields, extensions and methods use, each with the scope it is in. */
export function usedTypes(file: IFileDescriptorProto): [ref: string, scope: string][] {
  const out: [string, string][] = [];
  const fields = (scope: string, list: IFieldDescriptorProto[] = []) => {
    for (const f of list) {
      if (f.typeName) out.push([f.typeName, scope]);
      if (f.extendee) out.push([f.extendee, scope]);
    }
  };
  const walk = (scope: string, messages: IDescriptorProto[] = []) => {
    for (const m of messages) {
      const inner = `${scope}.${m.name}`;
      fields(inner, m.field);
      fields(inner, m.extension);
      walk(inner, m.nestedType);
    }
  };
  const pkg = packageScope(file);
  walk(pkg, file.messageType);
  fields(pkg, file.extension);
  for (const s of file.service ?? []) {
    for (const m of s.method ?? []) {
      out.push([m.inputType!, `${pkg}.${s.name}`], [m.outputType!, `${pkg}.${s.name}`]);
    }
  }
  return out;
}

function packageScope(file: IFileDescriptorProto): string {
  return file.package ? `.${file.package}` : '';
}
