import { fileURLToPath } from 'node:url';
import { mergeConfig } from 'vitest/config';
import { pvlabProject } from '../../vitest.shared.ts';

// Not named vitest.config.ts: the root workspace takes every tooling/*/vitest.config.ts into
// `pnpm test`, and this suite runs on its own (`pnpm test:linux`).
export default mergeConfig(pvlabProject('linux'), {
  test: {
    root: fileURLToPath(new URL('.', import.meta.url)),
    globalSetup: ['test/global-setup.ts'],
  },
});
