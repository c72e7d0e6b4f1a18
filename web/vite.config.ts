// vite.config.ts - the production build: one hashed JS and one hashed CSS file beside index.html, no
// inline script or style (the dashboard's CSP is script-src 'self'; style-src 'self'), no source maps in
// the binary. `vitest run` reads the `test` block: unit tests in test/ under happy-dom.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    target: 'es2022',
    outDir: process.env.WEB_OUT_DIR || 'dist',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    cssCodeSplit: false,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
    sourcemap: false,
  },
  cacheDir: process.env.WEB_CACHE_DIR || 'node_modules/.vite',
  test: {
    environment: 'happy-dom',
    include: ['test/**/*.test.{ts,tsx}'],
  },
});
