import { loadConfig, loadSections } from '../config';
import { STATEMENT_ARCHIVE_OPTIONS } from './banking/statement-archive.options';
import { CARRIER_OPTIONS } from './commerce/carrier.options';

const load = (variables: Record<string, string>) =>
  loadSections(loadConfig({ NODE_ENV: 'development', ...variables }, '/srv'), [
    STATEMENT_ARCHIVE_OPTIONS,
    CARRIER_OPTIONS,
  ]);

describe('the base URLs customer data is sent to (STATEMENT_ARCHIVE_URL, CARRIER_API_URL)', () => {
  it('take https, and plain http to a loopback address only (a sidecar, a local test server)', () => {
    expect(() =>
      load({ STATEMENT_ARCHIVE_URL: 'https://archive.bank.example', CARRIER_API_URL: 'http://127.0.0.1:8080' }),
    ).not.toThrow();
    expect(() => load({ STATEMENT_ARCHIVE_URL: 'http://localhost:9000/archive' })).not.toThrow();
  });

  it('refuse plain http to another host: customer numbers and balances would cross the network in clear', () => {
    expect(() =>
      load({ STATEMENT_ARCHIVE_URL: 'http://archive.internal', CARRIER_API_URL: 'http://carrier.internal' }),
    ).toThrow(/STATEMENT_ARCHIVE_URL: must be an https URL[\s\S]*CARRIER_API_URL: must be an https URL/);
    expect(() => load({ CARRIER_API_URL: 'ftp://carrier.example' })).toThrow(/CARRIER_API_URL: must be an https URL/);
  });

  it('refuse credentials in the URL, which the HTTP client would drop without a word (every call then 401)', () => {
    expect(() => load({ STATEMENT_ARCHIVE_URL: 'https://svc:secret@archive.bank.example' })).toThrow(
      /STATEMENT_ARCHIVE_URL: must be an https URL without user:password@/,
    );
    expect(() => load({ CARRIER_API_URL: 'https://token@carrier.example' })).toThrow(/CARRIER_API_URL/);
    // The refusal does not repeat the secret.
    expect(() => load({ STATEMENT_ARCHIVE_URL: 'https://svc:secret@archive.bank.example' })).not.toThrow(/secret@/);
  });
});
