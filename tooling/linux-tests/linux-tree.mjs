#!/usr/bin/env node
// Resolves the Linux source tree the Linux shim compiles against and prints the clang flags for
// it, extracting the files the shim names from Debian's tarball into the cache first if needed.
import { LinuxTreeError, linuxShimFlags, NO_TREE_LINE, resolveLinuxTree, SDK_INCLUDE } from './src/tree.mjs';

const HELP = `Usage: node tooling/linux-tests/linux-tree.mjs [--json | --cflags]

Finds the Linux source tree for pvlab's Linux shim (packages/wasm-guest/sdk/linux-shim): the
directory in $PVLAB_LINUX_SRC, else Debian's /usr/src/linux-source-6.12.tar.xz (apt-get install
linux-source-6.12; $PVLAB_LINUX_TARBALL names another), from which only the files the shim names
are extracted, into $PVLAB_LINUX_CACHE (default node_modules/.cache/pvlab-linux). Then prints the
tree and the clang flags that compile the shim's files against it (after the SDK's include
directory, which pvlab-cc adds itself).

Options:
  --json      print { root, source, version, files, flags } as JSON
  --cflags    print only the flags pvlab-cc needs (it adds the SDK's include directory itself):
              pvlab-cc $(node tooling/linux-tests/linux-tree.mjs --cflags) shim.c ... -o guest.wasm
  -h, --help  print this help

Exit codes: 0 found, 1 no tree, 2 a usage error or a tree that is not usable (not a
directory, or without a file the shim needs).
`;

const args = process.argv.slice(2);
if (args.includes('-h') || args.includes('--help')) {
  process.stdout.write(HELP);
  process.exit(0);
}
const unknown = args.find((a) => a !== '--json' && a !== '--cflags');
if (unknown !== undefined || args.length > 1) {
  process.stderr.write(
    `linux-tree: '${args.join(' ')}' is not accepted: use one of --json, --cflags, --help\n`,
  );
  process.exit(2);
}

try {
  const tree = resolveLinuxTree();
  if (tree === undefined) {
    process.stderr.write(`${NO_TREE_LINE}\n`);
    process.exit(1);
  }
  const flags = [`-I${SDK_INCLUDE}`, ...linuxShimFlags(tree)];
  if (args[0] === '--cflags') {
    process.stdout.write(`${linuxShimFlags(tree).join(' ')}\n`);
  } else if (args[0] === '--json') {
    process.stdout.write(
      `${JSON.stringify({ root: tree.root, source: tree.source, version: tree.version, files: tree.files, flags }, null, 2)}\n`,
    );
  } else {
    process.stdout.write(
      `tree: ${tree.root} (Linux ${tree.version}, from ${tree.source})\nflags: ${flags.join(' ')}\n`,
    );
  }
} catch (e) {
  if (!(e instanceof LinuxTreeError)) throw e;
  process.stderr.write(`linux-tree: ${e.message}\n`);
  process.exit(2);
}
