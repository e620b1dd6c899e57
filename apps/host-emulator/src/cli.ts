// The pvlab-host bin: runs the CLI with this process's arguments and streams.
import { interruptOnSignals } from './interrupt.js';
import { runPvlabHost } from './program.js';

// A reader that stops early (`pvlab-host info | head`) closes the pipe: that ends the output, it
// is not an error of ours.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

// SIGINT/SIGTERM stop a run (exit 130/143, no --save/--trace files written); see interrupt.ts.
const interrupt = interruptOnSignals();
process.exitCode = await runPvlabHost(process.argv.slice(2), {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  progressStream: process.stderr,
  interrupt,
});
