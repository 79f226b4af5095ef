import { connectionSecurity } from './peer-identity';

describe('connectionSecurity', () => {
  it('reads when a verified client certificate expires, as Node gives its valid_to', () => {
    const socket = {
      encrypted: true,
      authorized: true,
      getPeerCertificate: () => ({
        subject: { CN: 'bot' },
        subjectaltname: 'DNS:bot.example',
        valid_to: 'Jan  1 00:00:00 2030 GMT',
      }),
    };
    expect(connectionSecurity(socket)).toEqual({
      encrypted: true,
      clientCertificateVerified: true,
      peer: { subjectCN: 'bot', dnsSANs: ['bot.example'], uriSANs: [] },
      certificateValidUntil: Date.UTC(2030, 0, 1),
    });
  });

  it('leaves the expiry out when the certificate does not say', () => {
    const socket = {
      encrypted: true,
      authorized: true,
      getPeerCertificate: () => ({ subject: { CN: 'bot' }, valid_to: '' }),
    };
    expect(connectionSecurity(socket)).not.toHaveProperty('certificateValidUntil');
  });
});
