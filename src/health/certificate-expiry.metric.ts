import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config';
import { Metrics } from '../observability/metrics';
import { certificateNotAfter } from './certificate-expiry';

/**
 * `tls_certificate_expiry_timestamp_seconds`: when the serving certificate stops being valid (Unix seconds),
 * read from the certificate file at each scrape, so a renewed certificate shows at once. Absent without TLS
 * of the service's own, or while the file cannot be read.
 */
@Injectable()
export class CertificateExpiryMetric {
  constructor(metrics: Metrics, config: AppConfig) {
    const certFile = config.tls?.certFile;
    if (!certFile) return;
    metrics.gauge(
      'tls_certificate_expiry_timestamp_seconds',
      "The serving certificate's notAfter, in Unix seconds",
      (observe) => {
        const notAfter = certificateNotAfter(certFile);
        if (notAfter !== undefined) observe(notAfter / 1000);
      },
    );
  }
}
