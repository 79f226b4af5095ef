import { withoutMetadataValues } from './grpc-js-log';

describe('withoutMetadataValues', () => {
  it("names a metadata entry grpc-js could not add without its values (grpc-js's own text shows them)", () => {
    const message =
      'Failed to add metadata entry authorization: Bearer good,Bearer bad\tsecret. Metadata string value "Bearer ' +
      'bad\tsecret" contains illegal characters. For more information see https://github.com/grpc/grpc-node/issues/1173';
    expect(withoutMetadataValues(message)).toBe(
      'Failed to add metadata entry authorization (its values are not shown)',
    );
  });

  it('leaves other messages as they are', () => {
    expect(withoutMetadataValues('Server: Error reading frame')).toBe('Server: Error reading frame');
  });
});
