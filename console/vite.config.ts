/// <reference types="vitest/config" />
// Two entries: the console (index.html, budget ≤ 300 KB gzipped JS on first load) and the offline
// GraphiQL page (graphiql.html, served by `pulse graphql` on GET /graphql for browsers).
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { resolve } from 'node:path';

export default defineConfig({
  plugins: [react()],
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 4096,
    rollupOptions: {
      // graphiql's packages carry React-compiler directives ("use no memo") that bundling drops harmlessly
      onwarn(warning, warn) {
        if (warning.code === 'MODULE_LEVEL_DIRECTIVE') return;
        warn(warning);
      },
      input: {
        console: resolve(import.meta.dirname, 'index.html'),
        graphiql: resolve(import.meta.dirname, 'graphiql.html'),
      },
    },
  },
  server: {
    // `npm run dev` proxies the API of `make up`
    proxy: { '/graphql': { target: 'http://127.0.0.1:8081', ws: true } },
  },
  test: {
    environment: 'jsdom',
    include: ['tests/unit/**/*.test.{ts,tsx}'],
  },
});
