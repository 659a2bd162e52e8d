import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/support/setup.ts'],
    // The project venv (moto_server) once, before the workers: test/support/python-env.ts
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 60_000,
    // e2e suites start real processes on free ports; 2 cores, so keep files parallel but bounded
    maxWorkers: 2,
  },
})
