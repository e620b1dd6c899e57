// The threaded tests start real vCPU worker threads, which run the bundled worker and the
// bundled guest image: build both from the sources first (esbuild, well under a second).
export default async function setup(): Promise<void> {
  type Bundler = { bundle: () => Promise<void> };
  // @ts-expect-error build.mjs is plain JavaScript without type declarations.
  const host = (await import('../build.mjs')) as Bundler;
  // @ts-expect-error build.mjs is plain JavaScript without type declarations.
  const guest = (await import('../../guest-emulator/build.mjs')) as Bundler;
  await Promise.all([host.bundle(), guest.bundle()]);
}
