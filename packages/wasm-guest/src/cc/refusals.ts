/**
 * User flags that would break the guest ABI, each with the reason printed when it is refused.
 * pvlab-cc passes every other flag through to clang (or, for linker flags, to wasm-ld).
 */

const NOT_WASM32 = 'pvlab guests are wasm32 (guest RAM is an imported 32-bit shared memory)';
const FEATURE = (f: string, why: string) => `pvlab-cc pins +${f} (${why})`;
const ONE_MODULE = 'a guest is one statically linked module with its image at --global-base=1048576';
const WHOLE_MODULE = 'pvlab-cc always compiles and links a whole guest module';
const DEPFILES = 'pvlab-cc writes its own dependency files (they key its build cache)';
const NAME_SECTION = 'it strips the name section that names the C function in a guest fault';
const LAYOUT = 'the guest ABI pins the memory layout (image at 1 MiB, 4 GiB shared memory)';

/** Compiler-driver flags refused by exact spelling. */
const EXACT: Record<string, string> = {
  '-mtail-call':
    'tail calls are not in the guest ABI: Asyncify, applied to guests at load, cannot unwind them',
  '-mno-atomics': FEATURE('atomics', 'the memory is shared by every vCPU'),
  '-mno-bulk-memory': FEATURE('bulk-memory', "wasm-ld's shared-memory data initialisation needs it"),
  '-mno-mutable-globals': FEATURE('mutable-globals', 'the runtime sets __stack_pointer per vCPU'),
  '-mno-sign-ext': FEATURE('sign-ext', 'the guest ABI assumes it'),
  '-mexception-handling': 'the guest ABI has no wasm exceptions (-fno-exceptions is pinned)',
  '-fwasm-exceptions': 'the guest ABI has no wasm exceptions (-fno-exceptions is pinned)',
  '-mmultimemory': 'guest RAM is the one imported memory',
  '-fno-freestanding': 'guests have no C library: -ffreestanding is pinned',
  '-fhosted': 'guests have no C library: -ffreestanding is pinned',
  '-shared': ONE_MODULE,
  '-pie': ONE_MODULE,
  '-static-pie': ONE_MODULE,
  '-r': ONE_MODULE,
  '-s': NAME_SECTION,
  '-c': WHOLE_MODULE,
  '-S': WHOLE_MODULE,
  '-E': WHOLE_MODULE,
  '-M': WHOLE_MODULE,
  '-MM': WHOLE_MODULE,
  '-fsyntax-only': WHOLE_MODULE,
  '-emit-llvm': WHOLE_MODULE,
  '-MD': DEPFILES,
  '-MMD': DEPFILES,
  '-MF': DEPFILES,
  '-MT': DEPFILES,
  '-MQ': DEPFILES,
  '-MP': DEPFILES,
  '-MG': DEPFILES,
};

/** Compiler-driver flags refused by prefix (`-fuse-ld=lld`, `-MFfile`). */
const PREFIX: [string, string][] = [
  ['-fuse-ld', 'pvlab-cc runs wasm-ld itself (set PVLAB_WASM_LD to use another one)'],
  ['--ld-path', 'pvlab-cc runs wasm-ld itself (set PVLAB_WASM_LD to use another one)'],
  ['-MF', DEPFILES],
  ['-MT', DEPFILES],
  ['-MQ', DEPFILES],
];

/** wasm-ld flags refused (from -Wl, -Xlinker or -z), by exact spelling or `name=` prefix. */
const LINKER: Record<string, string> = {
  '--stack-first': 'it puts the stack below the image, in the low MiB that is the guest\u2019s own pages',
  '--global-base': LAYOUT,
  '--max-memory': LAYOUT,
  '--initial-memory': LAYOUT,
  '--no-shared-memory': LAYOUT,
  '--export-memory': 'guest RAM is imported from the host, not exported',
  '--shared': ONE_MODULE,
  '-shared': ONE_MODULE,
  '--pie': ONE_MODULE,
  '-pie': ONE_MODULE,
  '--experimental-pic': ONE_MODULE,
  '-r': ONE_MODULE,
  '--relocatable': ONE_MODULE,
  '--entry': 'pvlab_start (the SDK) is the entry, called by the runtime on every vCPU',
  '-e': 'pvlab_start (the SDK) is the entry, called by the runtime on every vCPU',
  '--strip-all': NAME_SECTION,
  '-s': NAME_SECTION,
  '--strip-debug': NAME_SECTION,
  '-S': NAME_SECTION,
  'stack-size': LAYOUT,
};

/** Why a compiler-driver flag is refused, or undefined when it passes through. */
export function refusedFlag(arg: string): string | undefined {
  if (Object.hasOwn(EXACT, arg)) return EXACT[arg];
  for (const [prefix, why] of PREFIX) if (arg.startsWith(prefix)) return why;
  const cpu = /^-m(?:cpu|arch)=(.*)$/.exec(arg);
  if (cpu && cpu[1] !== 'generic' && cpu[1] !== 'mvp')
    return 'pvlab-cc pins the wasm feature set: only -mcpu=generic or -mcpu=mvp';
  return undefined;
}

/** Why a target is refused, or undefined for wasm32. */
export function refusedTarget(target: string): string | undefined {
  return target === 'wasm32' || target === 'wasm32-unknown-unknown' ? undefined : NOT_WASM32;
}

/** Why a linker flag is refused, or undefined when it passes through. */
export function refusedLinkerFlag(item: string): string | undefined {
  const name = item.split('=', 1)[0]!;
  return Object.hasOwn(LINKER, name) ? LINKER[name] : undefined;
}
