import { defineProject } from 'vitest/config';

/**
 * The vitest project every workspace member uses. Tests import sibling packages through the
 * `@pvlab/source` export condition, so they run against `src/` without a build.
 */
export function pvlabProject(name: string) {
  const conditions = ['@pvlab/source', 'node', 'import', 'module', 'default'];
  return defineProject({
    resolve: { conditions },
    ssr: { resolve: { conditions, externalConditions: conditions } },
    test: {
      name,
      include: ['test/**/*.test.ts'],
      environment: 'node',
      // A timeout catches a hang, never slowness: on 2 cores under load a test can run 10x slower
      // than on a quiet machine, so vitest's 5 s default would fail correct code.
      testTimeout: 120_000,
      hookTimeout: 120_000,
      // Test files of a worker share one module graph: importing the packages' sources once per
      // worker instead of once per file halves `pnpm test` on 2 cores (module import was ~40 % of
      // it). Tests keep no state between files: each builds its own VM, partition or ring.
      isolate: false,
    },
  });
}
