import { Metadata } from '@grpc/grpc-js';
import { withoutMetadataValues } from './grpc-js-log';

/** A line as grpc-js's tracers write it (logging.ts `trace`): time, version, pid, tracer, text. */
const traced = (tracer: string, text: string) => `2026-12-06T05:43:56.307Z | v1.14.7 4242 | ${tracer} | ${text}`;

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

  it("hides every value but the protocol's own in a call's metadata as the server_call tracer writes it", () => {
    const metadata = new Metadata();
    metadata.add('authorization', 'Bearer local-dev-token');
    metadata.add('authorization', 'Basic c2VjcmV0OnNlY3JldA==');
    metadata.add('proxy-authorization', 'Basic cHJveHk6c2VjcmV0');
    metadata.add('cookie', 'session=s3cr3t');
    metadata.add('x-api-key', 'key-s3cr3t');
    metadata.add('x-hub-signature-256', 'sha256=5ec2e7');
    metadata.add('webhook-signature', 'v1,c2lnbmF0dXJl');
    metadata.add('credential-bin', Buffer.from('s3cr3t'));
    metadata.add('user-agent', 'grpc-node-js/1.14.7');
    metadata.add('x-request-id', 'req-1');
    const path = '/fulfillment.v1.FulfillmentService/Fulfill';
    const line = traced('server_call', `Request to ${path} received headers ${JSON.stringify(metadata.toJSON())}`);
    const shown = withoutMetadataValues(line);
    for (const secret of ['local-dev-token', 'c2VjcmV0', 'cHJveHk', 's3cr3t', '5ec2e7', 'c2lnbmF0dXJl', '115,51']) {
      expect(shown).not.toContain(secret);
    }
    expect(shown).toBe(
      traced(
        'server_call',
        `Request to ${path} received headers {"authorization":"[REDACTED]","proxy-authorization":"[REDACTED]",` +
          '"cookie":"[REDACTED]","x-api-key":"[REDACTED]","x-hub-signature-256":"[REDACTED]",' +
          '"webhook-signature":"[REDACTED]","credential-bin":"[REDACTED]","user-agent":["grpc-node-js/1.14.7"],' +
          '"x-request-id":["req-1"]}',
      ),
    );
  });

  it('hides all of the metadata when it is not the JSON grpc-js writes', () => {
    expect(
      withoutMetadataValues(traced('server_call', 'Request to /a received headers {"authorization":["Bearer x')),
    ).toBe(traced('server_call', 'Request to /a received headers [REDACTED]'));
  });

  it("hides the header values the client tracers list, one a line, but for the protocol's own", () => {
    const headers = '\t\t:status: 200\n\t\tcontent-type: application/grpc\n\t\tset-cookie: session=s3cr3t\n';
    expect(withoutMetadataValues(traced('subchannel_call', `[3] Received server headers:\n${headers}`))).toBe(
      traced(
        'subchannel_call',
        '[3] Received server headers:\n\t\t:status: 200\n\t\tcontent-type: application/grpc\n\t\tset-cookie: [REDACTED]\n',
      ),
    );
  });
});
