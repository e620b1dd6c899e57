// The pvlab-host bin: runs the CLI with this process's arguments and streams.
import { runPvlabHost } from './program.js';

process.exitCode = await runPvlabHost(process.argv.slice(2), {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  progressStream: process.stderr,
});
