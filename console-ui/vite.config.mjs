// The operator console's pages. `npm run build` (scripts/build.mjs) builds them with this configuration into
// dist/console-ui/, which the admin listener serves at its root under a strict Content-Security-Policy: no inline
// script or style, everything from 'self'.
//
// While working on the pages: `npx vite --config console-ui/vite.config.mjs` serves them with hot reload and
// forwards the API and sign-in routes to a running admin listener (npm start: 127.0.0.1:9465).
import preact from '@preact/preset-vite';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = dirname(fileURLToPath(import.meta.url));
const admin = 'http://127.0.0.1:9465';

export default defineConfig({
  root: here,
  base: '/',
  plugins: [preact()],
  build: {
    outDir: join(here, '..', 'dist', 'console-ui'),
    emptyOutDir: true,
    target: 'es2022',
    // The polyfill is an inline script, which the CSP refuses; every browser the console supports has modulepreload.
    modulePreload: { polyfill: false },
    // No data: URIs: every asset is a file of its own, from 'self'.
    assetsInlineLimit: 0,
    cssCodeSplit: false,
    sourcemap: false,
    reportCompressedSize: false,
  },
  server: {
    host: '127.0.0.1',
    proxy: Object.fromEntries(['/api', '/login', '/callback', '/logout'].map((path) => [path, admin])),
  },
});
