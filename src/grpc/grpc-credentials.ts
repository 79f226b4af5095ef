import { ServerCredentials } from '@grpc/grpc-js';
import { constants } from 'node:crypto';
import type { SecureContextOptions } from 'node:tls';
import { TlsMaterial } from '../auth/tls/tls-options';
import { ConfigError, type TlsConfig } from '../config';

/**
 * Everything that decides a handshake goes into the secure context, because grpc-js applies updates with
 * `setSecureContext`, which resets whatever an update leaves out. TLS session tickets are off: a resumed
 * session skips certificate verification, so a certificate revoked after the first handshake would keep
 * working (gRPC connections are long-lived; resumption saves little).
 */
function contextOptions(material: TlsMaterial): SecureContextOptions {
  return { ...material.options, honorCipherOrder: true, secureOptions: constants.SSL_OP_NO_TICKET };
}

/**
 * Server credentials for the gRPC port built from the same files, TLS versions and CRL as HTTPS, and
 * replaceable at run time. grpc-js `createSsl` can do neither (no CRL, and it falls back to the public root
 * CAs when given none); `createCertificateProviderServerCredentials` reloads files but cannot take a CRL,
 * does not validate a new pair before applying it (a broken rotation would refuse every new connection),
 * and has no hook to close connections verified under the old trust store.
 *
 * Client certificates are requested whenever TLS_CLIENT_AUTH is not `off` and checked against our CA bundle
 * only. With `require`, node:tls refuses a connection without a valid one inside the handshake (a TLS alert,
 * as on HTTPS); GrpcConnections audits why.
 */
export class ReloadableServerCredentials extends ServerCredentials {
  constructor(tls: TlsConfig, material: TlsMaterial) {
    if (tls.clientAuth !== 'off' && !material.options.ca) {
      throw new ConfigError([`TLS_CA_FILE: is required when TLS_CLIENT_AUTH=${tls.clientAuth}`]);
    }
    super(
      {
        requestCert: tls.clientAuth !== 'off',
        rejectUnauthorized: tls.clientAuth === 'require',
        // grpc-js hands these to http2.createSecureServer as they are; Node's default handshake timeout is 120 s.
        handshakeTimeout: tls.handshakeTimeoutMs,
      },
      contextOptions(material),
    );
  }

  /** Applies files TlsReloader has already read and checked; new handshakes use them at once. */
  reload(material: TlsMaterial): void {
    this.updateSecureContextOptions(contextOptions(material));
  }

  _equals(other: ServerCredentials): boolean {
    return other === this;
  }
}
