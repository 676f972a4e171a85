import preact from '@preact/preset-vite';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The dashboard is built into web/dist and served by the service itself (src/http/dashboard.module.ts), so
 * everything it needs ships in the bundle: no CDN, nothing fetched from the internet at run time. The service's
 * CSP allows scripts from 'self' only, so the build must not inline scripts (Vite does not, with
 * modulePreload's polyfill bundled into the entry chunk).
 * `npm run dev:web` proxies the API to a service on :8000 (npm run demo).
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  plugins: [preact()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    assetsInlineLimit: 0,
    reportCompressedSize: true,
  },
  server: {
    proxy: {
      '/api': { target: 'http://127.0.0.1:8000', changeOrigin: false },
      '/health': 'http://127.0.0.1:8000',
    },
  },
});
