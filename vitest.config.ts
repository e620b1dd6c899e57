import { defineConfig } from 'vitest/config';

// One vitest process runs every project: packages/*, apps/* and tooling/* each have a vitest.config.ts.
export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/*', 'tooling/*'],
  },
});
