// End-to-end tests in Debian's chromium (no browser download) against the real services of
// `make up` (ingest 8080, graphql + console 8081, processor 8082). `make console-test` starts them
// when they are not running.
import { defineConfig } from '@playwright/test';

export default defineConfig({
  testDir: './e2e',
  outputDir: './test-results/playwright',
  timeout: 120_000,
  expect: { timeout: 20_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  use: {
    baseURL: process.env.PULSE_CONSOLE_URL ?? 'http://127.0.0.1:8081',
    viewport: { width: 1280, height: 800 },
    // tracing snapshots the DOM from inside the page and would distort the long-task measurement
    trace: process.env.PW_TRACE ? 'retain-on-failure' : 'off',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    },
  },
});
