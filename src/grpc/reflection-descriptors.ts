import type { AnyDefinition, PackageDefinition } from '@grpc/proto-loader';
import { FileDescriptorProto, type IDescriptorProto, type IFileDescriptorProto } from 'protobufjs/ext/descriptor';

const STRUCT_FILE = 'google/protobuf/struct.proto';
const STRUCT_TYPES = new Set(['Struct', 'Value', 'ListValue', 'NullValue']);
const [OPTIONAL, REPEATED] = [1, 3];
const [DOUBLE, BOOL, STRING, MESSAGE, ENUM] = [1, 8, 9, 11, 14];

/**
 * google/protobuf/struct.proto as protoc describes it. proto-loader describes it from protobufjs' bundled
 * copy instead: under another file name, with camelCase field names and a map entry named `Fields`, which
 * clients that know the well-known types (buf curl) refuse as a second, conflicting definition.
 */
function structFile(): IFileDescriptorProto {
  const field = (name: string, number: number, type: number, typeName?: string, label = OPTIONAL) => ({
    name,
    number,
    label,
    type,
    ...(typeName && { typeName }),
    jsonName: name.replace(/_([a-z])/g, (_match, letter: string) => letter.toUpperCase()),
  });
  const kind = (name: string, number: number, type: number, typeName?: string) => ({
    ...field(name, number, type, typeName),
    oneofIndex: 0,
  });
  return {
    name: STRUCT_FILE,
    package: 'google.protobuf',
    syntax: 'proto3',
    messageType: [
      {
        name: 'Struct',
        field: [field('fields', 1, MESSAGE, '.google.protobuf.Struct.FieldsEntry', REPEATED)],
        nestedType: [
          {
            name: 'FieldsEntry',
            field: [field('key', 1, STRING), field('value', 2, MESSAGE, '.google.protobuf.Value')],
            options: { mapEntry: true },
          },
        ],
      },
      {
        name: 'Value',
        field: [
          kind('null_value', 1, ENUM, '.google.protobuf.NullValue'),
          kind('number_value', 2, DOUBLE),
          kind('string_value', 3, STRING),
          kind('bool_value', 4, BOOL),
          kind('struct_value', 5, MESSAGE, '.google.protobuf.Struct'),
          kind('list_value', 6, MESSAGE, '.google.protobuf.ListValue'),
        ],
        oneofDecl: [{ name: 'kind' }],
      },
      { name: 'ListValue', field: [field('values', 1, MESSAGE, '.google.protobuf.Value', REPEATED)] },
    ],
    enumType: [{ name: 'NullValue', value: [{ name: 'NULL_VALUE', number: 0 }] }],
    options: {
      ccEnableArenas: true,
      goPackage: 'google.golang.org/protobuf/types/known/structpb',
      javaPackage: 'com.google.protobuf',
      javaOuterClassname: 'StructProto',
      javaMultipleFiles: true,
      objcClassPrefix: 'GPB',
      csharpNamespace: 'Google.Protobuf.WellKnownTypes',
    },
  };
}

/** Whether a file is protobufjs' rendering of struct.proto (and nothing else). */
function isBundledStruct(file: IFileDescriptorProto): boolean {
  const types = [...(file.messageType ?? []), ...(file.enumType ?? [])].map((type) => type.name ?? '');
  return file.package === 'google.protobuf' && types.length > 0 && types.every((name) => STRUCT_TYPES.has(name));
}

/** The file descriptors of a message or enum definition; services have none of their own. */
function descriptorsOf(entry: AnyDefinition): Buffer[] | undefined {
  const bytes = (entry as { fileDescriptorProtos?: unknown }).fileDescriptorProtos;
  return Array.isArray(bytes) ? (bytes as Buffer[]) : undefined;
}

/** `.pkg.Type` → the name of the file (as proto-loader names it) that declares it. */
function declaredTypes(files: readonly IFileDescriptorProto[]): Map<string, string> {
  const owners = new Map<string, string>();
  const visit = (scope: string, message: IDescriptorProto, file: string): void => {
    const name = `${scope}.${message.name}`;
    owners.set(name, file);
    for (const nested of message.nestedType ?? []) visit(name, nested, file);
    for (const enumType of message.enumType ?? []) owners.set(`${name}.${enumType.name}`, file);
  };
  for (const file of files) {
    const scope = file.package ? `.${file.package}` : '';
    for (const message of file.messageType ?? []) visit(scope, message, file.name ?? '');
    for (const enumType of file.enumType ?? []) owners.set(`${scope}.${enumType.name}`, file.name ?? '');
  }
  return owners;
}

/** A type reference made fully qualified by protobuf's scoping rules (innermost scope first). */
function resolve(reference: string, scope: string, owners: ReadonlyMap<string, string>): string | undefined {
  if (reference.startsWith('.')) return owners.has(reference) ? reference : undefined;
  for (let current = scope; ; current = current.slice(0, current.lastIndexOf('.'))) {
    const candidate = `${current}.${reference}`;
    if (owners.has(candidate)) return candidate;
    if (current === '') return undefined;
  }
}

/**
 * Rewrites a file's type references as fully qualified names and returns the files they are declared in.
 * Field types are looked up from their message outwards, method types from their service outwards.
 */
function qualifyReferences(file: IFileDescriptorProto, owners: ReadonlyMap<string, string>): Set<string> {
  const imports = new Set<string>();
  const qualified = (reference: string | undefined, scope: string): string | undefined => {
    if (!reference) return reference;
    const name = resolve(reference, scope, owners);
    if (!name) return reference;
    const owner = owners.get(name);
    if (owner && owner !== file.name) imports.add(owner);
    return name;
  };
  const visit = (scope: string, message: IDescriptorProto): void => {
    const name = `${scope}.${message.name}`;
    for (const field of message.field ?? []) field.typeName = qualified(field.typeName, name);
    for (const nested of message.nestedType ?? []) visit(name, nested);
  };
  const scope = file.package ? `.${file.package}` : '';
  for (const message of file.messageType ?? []) visit(scope, message);
  for (const service of file.service ?? []) {
    for (const method of service.method ?? []) {
      method.inputType = qualified(method.inputType, `${scope}.${service.name}`);
      method.outputType = qualified(method.outputType, `${scope}.${service.name}`);
    }
  }
  return imports;
}

/**
 * proto-loader (0.8) writes one file descriptor per package but leaves out their `dependency` lists and keeps
 * type references relative (grpc/grpc-node#2595, #3034): reflection clients such as grpcurl and `buf curl`
 * then cannot resolve `google.protobuf.Struct` in fulfillment.v1. This returns the definition with each
 * file's imports declared, its references fully qualified and struct.proto as protoc describes it, for the
 * reflection service only (the transport itself does not read descriptors).
 */
export function withFileDependencies(definition: PackageDefinition): PackageDefinition {
  // Keyed by the name proto-loader gave each file, which is how the definition's entries refer to them.
  const files = new Map<string, IFileDescriptorProto>();
  for (const entry of Object.values(definition)) {
    for (const bytes of descriptorsOf(entry) ?? []) {
      const file = FileDescriptorProto.decode(bytes) as unknown as IFileDescriptorProto;
      if (file.name && !files.has(file.name)) files.set(file.name, isBundledStruct(file) ? structFile() : file);
    }
  }
  const owners = declaredTypes([...files.values()]);
  const encoded = new Map<string, Buffer>();
  for (const [name, file] of files) {
    file.dependency = [...qualifyReferences(file, owners)].sort();
    encoded.set(name, Buffer.from(FileDescriptorProto.encode(FileDescriptorProto.fromObject(file)).finish()));
  }

  const patched: PackageDefinition = {};
  for (const [key, entry] of Object.entries(definition)) {
    const descriptors = descriptorsOf(entry);
    patched[key] = descriptors
      ? ({
          ...entry,
          fileDescriptorProtos: descriptors.map((bytes) => {
            const name = (FileDescriptorProto.decode(bytes) as unknown as IFileDescriptorProto).name ?? '';
            return encoded.get(name) ?? bytes;
          }),
        } as AnyDefinition)
      : entry;
  }
  return patched;
}
