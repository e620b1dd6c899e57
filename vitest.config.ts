import { defineConfig } from 'vitest/config';

// One vitest process runs every project: each of packages/* and apps/* has a vitest.config.ts.
// Under tooling/ only the directories that have tests define one (the smoke and test-summary
// scripts have none), so match the config file itself there: a bare directory glob would make
// every tooling dir a project with vitest's default settings.
export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/*', 'tooling/*/vitest.config.ts'],
    // `pnpm test` runs every test but these (`--tags-filter=!long`); `pnpm test:long` runs only
    // these: searches of many seeds and other runs that take minutes, kept in `*.long.test.ts`
    // files (tooling/test-summary/run.mjs checks both go together). The projects inherit it.
    tags: [
      {
        name: 'long',
        description: 'runs for minutes (many seeds): in `pnpm test:long`, not in `pnpm test`',
        timeout: 30 * 60_000,
      },
    ],
  },
});
