import type { PackageDefinition } from '@grpc/proto-loader';
import { FileDescriptorProto, type IFileDescriptorProto } from 'protobufjs/ext/descriptor';
import { loadReflectionDefinitions } from './grpc-proto';
import { withFileDependencies } from './reflection-descriptors';

function filesOf(definition: PackageDefinition): Map<string, IFileDescriptorProto> {
  const files = new Map<string, IFileDescriptorProto>();
  for (const entry of Object.values(definition)) {
    for (const bytes of (entry as { fileDescriptorProtos?: Buffer[] }).fileDescriptorProtos ?? []) {
      const file = FileDescriptorProto.decode(bytes) as unknown as IFileDescriptorProto;
      files.set(file.name ?? '', file);
    }
  }
  return files;
}

describe('withFileDependencies', () => {
  it('declares the imports proto-loader leaves out, so reflection clients can resolve google.protobuf.Struct', () => {
    expect(filesOf(loadReflectionDefinitions()).get('fulfillment_v1.proto')?.dependency ?? []).toEqual([]);

    const files = filesOf(withFileDependencies(loadReflectionDefinitions()));
    expect(files.get('fulfillment_v1.proto')?.dependency).toEqual(['google/protobuf/struct.proto']);
    expect(files.get('grpc_health_v1.proto')?.dependency ?? []).toEqual([]);
    expect([...files.keys()].sort()).toEqual([
      'fulfillment_v1.proto',
      'google/protobuf/struct.proto',
      'grpc_health_v1.proto',
    ]);
  });

  it('describes struct.proto as protoc does (snake_case fields, FieldsEntry map entry)', () => {
    const struct = filesOf(withFileDependencies(loadReflectionDefinitions())).get('google/protobuf/struct.proto');
    const [structType, value, list] = struct?.messageType ?? [];
    expect(structType.nestedType?.[0]).toMatchObject({ name: 'FieldsEntry', options: { mapEntry: true } });
    expect(value.field?.map((field) => [field.name, field.jsonName as string])).toEqual([
      ['null_value', 'nullValue'],
      ['number_value', 'numberValue'],
      ['string_value', 'stringValue'],
      ['bool_value', 'boolValue'],
      ['struct_value', 'structValue'],
      ['list_value', 'listValue'],
    ]);
    expect(list.field?.[0]).toMatchObject({ name: 'values', typeName: '.google.protobuf.Value' });
    expect(struct?.enumType?.[0]).toMatchObject({ name: 'NullValue', value: [{ name: 'NULL_VALUE', number: 0 }] });
  });

  it('qualifies every type reference, keeping the .proto field names', () => {
    const file = filesOf(withFileDependencies(loadReflectionDefinitions())).get('fulfillment_v1.proto');
    const request = file?.messageType?.find((message) => message.name === 'FulfillRequest');
    expect(request?.field?.filter((field) => field.typeName).map((field) => [field.name, field.typeName])).toEqual([
      ['parameters', '.google.protobuf.Struct'],
      ['contexts', '.fulfillment.v1.Context'],
      ['session_parameters', '.google.protobuf.Struct'],
      ['stage', '.fulfillment.v1.Stage'],
      ['confirmation', '.fulfillment.v1.Confirmation'],
    ]);
    expect(file?.service?.[0].method?.map((method) => [method.name, method.inputType, method.outputType])).toEqual([
      ['Fulfill', '.fulfillment.v1.FulfillRequest', '.fulfillment.v1.FulfillResponse'],
      ['HandleWebhook', '.fulfillment.v1.HandleWebhookRequest', '.fulfillment.v1.HandleWebhookResponse'],
    ]);
  });

  it('leaves the service definitions alone', () => {
    const definition = loadReflectionDefinitions();
    const patched = withFileDependencies(definition);
    expect(Object.keys(patched)).toEqual(Object.keys(definition));
    expect(patched['fulfillment.v1.FulfillmentService']).toBe(definition['fulfillment.v1.FulfillmentService']);
  });
});
