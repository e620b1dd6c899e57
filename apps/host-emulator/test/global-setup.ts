// The threaded tests start real vCPU worker threads, which run the bundled worker: build it
// from the sources first (esbuild, well under a second).
export default async function setup(): Promise<void> {
  // @ts-expect-error build.mjs is plain JavaScript without type declarations.
  const { bundle } = (await import('../build.mjs')) as { bundle: () => Promise<void> };
  await bundle();
}
