import { existsSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { type AdminListener, startAdminListener } from '../src/console/admin/admin-app';
import { CONTENT_SECURITY_POLICY } from '../src/console/admin/security-headers';
import { serviceReadiness } from '../src/app.factory';
import { AppConfig } from '../src/config';
import { startTestApp, TestApp } from './support/test-app';

const PAGES = join(__dirname, '..', 'dist', 'console-ui');

/** Each element's attributes (names lower-cased), with the text between its tags for elements that have one. */
function elements(html: string, tag: string): { attributes: Record<string, string>; text: string }[] {
  const pattern = new RegExp(`<${tag}\\b([^>]*)>(?:([\\s\\S]*?)</${tag}>)?`, 'gi');
  return [...html.matchAll(pattern)].map((match) => ({
    attributes: Object.fromEntries(
      [...match[1].matchAll(/([\w:-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g)].map((attribute) => [
        attribute[1].toLowerCase(),
        attribute[2] ?? attribute[3] ?? attribute[4] ?? '',
      ]),
    ),
    text: match[2] ?? '',
  }));
}

const CONTENT_TYPES: Record<string, RegExp> = {
  '.js': /^(text|application)\/javascript\b/,
  '.css': /^text\/css\b/,
  '.svg': /^image\/svg\+xml\b/,
};

/**
 * The console's pages (console-ui/, built by scripts/build.mjs into dist/console-ui/) as the admin listener serves
 * them: under the console's CSP, nothing inline, every script and stylesheet they name there to load.
 */
describe('operator console: the pages the admin listener serves', () => {
  let t: TestApp;
  let admin: AdminListener;
  let adminUrl: string;

  beforeAll(async () => {
    if (!existsSync(join(PAGES, 'index.html'))) {
      throw new Error(`${PAGES} is not built: run node scripts/build.mjs (npm test does) first`);
    }
    t = await startTestApp({ env: { ADMIN_PORT: '0' } });
    admin = await startAdminListener(t.app, t.app.get(AppConfig), serviceReadiness(t.app));
    adminUrl = `http://127.0.0.1:${admin.port}`;
  });
  afterAll(async () => {
    await admin?.close();
    await t?.close();
  });

  it('answers / with the HTML page under the strict CSP, revalidated on every load, without a session', async () => {
    // A host name that is not loopback: the local operator does not apply, so the page needs no session at all.
    const response = await request(adminUrl).get('/').set('Host', 'console.example').expect(200);
    expect(response.headers['content-type']).toMatch(/^text\/html\b/);
    expect(response.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['cache-control']).toBe('no-cache');
    expect(response.text).toMatch(/^<!doctype html>/i);
    expect(response.text).toContain('<div id="app">');
    // The API behind it still wants one.
    await request(adminUrl).get('/api/session').set('Host', 'console.example').expect(401);
  });

  it('has no inline script, style element, style attribute or event handler attribute in its HTML', async () => {
    const html = (await request(adminUrl).get('/').expect(200)).text;
    const scripts = elements(html, 'script');
    expect(scripts.length).toBeGreaterThan(0);
    for (const script of scripts) {
      expect(script.attributes.src).toMatch(/^\/assets\//);
      expect(script.text.trim()).toBe('');
    }
    expect(elements(html, 'style')).toEqual([]);
    expect(html).not.toMatch(/\sstyle\s*=/i);
    expect(html).not.toMatch(/\son[a-z]+\s*=/i);
    expect(html).not.toMatch(/javascript:/i);
  });

  it('serves every script and stylesheet (and the icon) it names, with the right content type', async () => {
    const html = (await request(adminUrl).get('/').expect(200)).text;
    const urls = [
      ...elements(html, 'script').map((script) => script.attributes.src),
      ...elements(html, 'link').map((link) => link.attributes.href),
    ];
    expect(urls.some((url) => url.endsWith('.js'))).toBe(true);
    expect(urls.some((url) => url.endsWith('.css'))).toBe(true);
    for (const url of urls) {
      expect(url).toMatch(/^\/[^/]/);
      const response = await request(adminUrl).get(url);
      const extension = url.slice(url.lastIndexOf('.'));
      expect({ url, status: response.status }).toEqual({ url, status: 200 });
      expect({ url, type: response.headers['content-type'] }).toEqual({
        url,
        type: expect.stringMatching(CONTENT_TYPES[extension] ?? /^$/),
      });
      expect(response.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
      expect(response.headers['cache-control']).toBe(
        url.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
      );
    }
  });

  it('leaves the API and the sign-in routes to Nest, and answers a missing file with the JSON 404', async () => {
    const session = await request(adminUrl).get('/api/session').expect(200);
    expect(session.headers['content-type']).toMatch(/^application\/json\b/);
    expect(session.headers['cache-control']).toBe('no-store');
    // Routing ignores case: the upper-case path reaches the same data, and must not be cached either.
    const shouted = await request(adminUrl).get('/API/SESSION').expect(200);
    expect(shouted.headers['cache-control']).toBe('no-store');
    const unknownApi = await request(adminUrl).get('/api/no-such-thing').expect(404);
    expect(unknownApi.body).toMatchObject({ statusCode: 404, error: 'NOT_FOUND' });
    const missing = await request(adminUrl).get('/assets/no-such-file.js').expect(404);
    expect(missing.body).toMatchObject({ statusCode: 404, error: 'NOT_FOUND' });
    // Only GET and HEAD reach the files.
    const post = await request(adminUrl).post('/').send({});
    expect(post.status).toBeGreaterThanOrEqual(400);
    expect(post.headers['content-type']).toMatch(/^application\/json\b/);
    const logout = await request(adminUrl).get('/logout');
    expect(logout.headers['content-type']).toMatch(/^application\/json\b/);
  });
});
