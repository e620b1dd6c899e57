import { defineConfig } from 'vitest/config';

// One vitest process runs every project: each of packages/* and apps/* has a vitest.config.ts.
// Under tooling/ only the directories that have tests define one (the smoke and test-summary
// scripts have none), so match the config file itself there: a bare directory glob would make
// every tooling dir a project with vitest's default settings.
export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/*', 'tooling/*/vitest.config.ts'],
  },
});
