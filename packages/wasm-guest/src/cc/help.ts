import { NPM_CLANG, NPM_CLANG_VERSION } from './npm-clang.js';

/** `pvlab-cc --help`. */
export const HELP = `Usage: pvlab-cc [clang flags] -o guest.wasm main.c [more.c ...]

Compiles and links a pvlab wasm guest: C files written against <pvlab/guest.h>, run with
\`pvlab-host run --guest guest.wasm\`. pvlab-cc adds the SDK (its include directory and its
sdk/src/*.c runtime) and pins the guest ABI's flags:
  clang  --target=wasm32 -O2 -g ... -nostdlib -ffreestanding -matomics -mbulk-memory
         -mmutable-globals -msign-ext -fno-exceptions
  wasm-ld --import-memory --shared-memory --max-memory=4294967296 --global-base=1048576
          -z stack-size=4096 --export=__stack_pointer,__wasm_init_tls,__tls_size,__tls_align,
          __heap_base,__data_end,pvlab_start --no-entry
Other clang flags pass through (-O, -D, -U, -I, -isystem, -include, -W, -std=, -f...; -Wl,
-Xlinker, -L and -l go to wasm-ld). Flags that break the ABI are refused with the reason:
a --target other than wasm32, -mtail-call, -mno-atomics and the like, -fuse-ld, -shared,
-Wl,--stack-first, -Wl,--global-base, -c/-S/-E, -MD/-MF, -s, ... (exit code 2).

Options:
  -o FILE      the module to write (written whole or not at all)
  -v           print the toolchain, the clang and wasm-ld command lines, and cache hits
  --no-cache   neither read nor write the build cache
  --version    print pvlab-cc's version
  -h, --help   print this help

Toolchain, the first that is found:
  1. $PVLAB_CLANG: a clang with the wasm32 target; wasm-ld beside it, or $PVLAB_WASM_LD
  2. clang-19 and wasm-ld-19 on PATH (Debian: apt-get install -y --no-install-recommends
     clang-19 lld-19), or clang (17 or newer, with wasm32 in --print-targets) and wasm-ld
  3. the npm clang ${NPM_CLANG}@${NPM_CLANG_VERSION} (clang and wasm-ld compiled to WASI,
     run inside Node: seconds slower per build; npm install ${NPM_CLANG}@${NPM_CLANG_VERSION})

Build cache: a build whose toolchain, pvlab-cc version, flags, working directory, C files,
SDK sources and every header it read are unchanged is copied from the cache instead of rebuilt.

Environment:
  PVLAB_CLANG         the clang to use (path, or a name on PATH)
  PVLAB_WASM_LD       the wasm-ld to use with it (default: beside that clang)
  PVLAB_CC_TOOLCHAIN  system or npm: use only that toolchain
  PVLAB_CC_CACHE      the cache directory (default: $XDG_CACHE_HOME/pvlab-cc or ~/.cache/pvlab-cc)
  PVLAB_CC_SDK        another SDK directory (include/, src/*.c) instead of the package's own

Exit codes: 0 built, 1 the build failed (clang's diagnostics above), 2 a usage error.
`;
