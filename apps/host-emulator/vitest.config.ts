import { mergeConfig } from 'vitest/config';
import { pvlabProject } from '../../vitest.shared.ts';

export default mergeConfig(pvlabProject('host-emulator'), {
  test: { globalSetup: ['test/global-setup.ts'] },
});
