import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config';
import { Metrics } from '../observability/metrics';
import { ServedCertificate } from '../observability/served-certificate';
import { fileNotAfter } from './certificate-expiry';

/**
 * `tls_certificate_expiry_timestamp_seconds`: when the certificate the listeners serve stops being valid (Unix
 * seconds), as the TLS reloader applied it, so a renewal shows once it is served (and files it refused do not).
 * Absent without TLS of the service's own; NaN while the certificate cannot be read (after it could be).
 */
@Injectable()
export class CertificateExpiryMetric {
  constructor(metrics: Metrics, config: AppConfig, served: ServedCertificate) {
    const certFile = config.tls?.certFile;
    if (!certFile) return;
    metrics.gauge(
      'tls_certificate_expiry_timestamp_seconds',
      "The serving certificate's notAfter, in Unix seconds",
      (observe) => {
        const read = served.notAfter ?? fileNotAfter(certFile);
        if ('notAfter' in read) observe(read.notAfter / 1000);
      },
    );
  }
}
