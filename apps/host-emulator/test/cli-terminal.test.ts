// The pvlab-host bin under a real pseudo-terminal (util-linux `script`): any terminal width,
// resizes, and SIGINT (a real Ctrl-C) / SIGTERM ending a run with 130/143 and no files written.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';

const cli = fileURLToPath(new URL('../dist/cli.mjs', import.meta.url));
const forever = fileURLToPath(new URL('./guests/hypercalls-forever.mjs', import.meta.url));
// `script` is util-linux's, in Debian's bsdutils (an Essential package, so on every Debian CI
// image); it also needs a pseudo-terminal to open. Without either the tests skip, saying why.
const hasScript = spawnSync('script', ['-qfec', 'true', '/dev/null']).status === 0;
if (!hasScript)
  console.warn(
    'cli-terminal tests skipped: `script` (util-linux, Debian bsdutils) is missing or cannot open a pseudo-terminal',
  );
const dir = mkdtempSync(join(tmpdir(), 'pvlab-terminal-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** More output than a run of a few seconds can honestly write: the terminal is being flooded. */
const OUTPUT_LIMIT = 1024 * 1024;
/** What the progress line says on every frame. */
const SPINNER = 'vCPUs running';

const started: number[] = [];
afterEach(() => {
  // A run a failed test left behind is killed (by its own pid only).
  for (const pid of started.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
});

/**
 * `pvlab-host <args>` on a pseudo-terminal that `setup` (stty) sized, with the progress line on
 * (no CI, a real TERM). The shell prints its pid and tty, then becomes the CLI (`exec`).
 */
function inTerminal(setup: string, args: readonly string[]) {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const command = `${setup}; echo "PID=$$ TTY=$(tty)"; exec ${quote(process.execPath)} ${[cli, ...args].map(quote).join(' ')}`;
  const env: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm-256color' };
  delete env['CI'];
  const child: ChildProcess = spawn('script', ['-qfec', command, '/dev/null'], {
    env,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  if (child.pid !== undefined) started.push(child.pid);
  let output = '';
  let flooded = false;
  let cliPid: number | undefined;
  const watchers = new Set<() => void>();
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      // `script` waits for the CLI: both are gone, their pids no longer ours to kill.
      for (const pid of [child.pid, cliPid])
        if (started.includes(pid!)) started.splice(started.indexOf(pid!), 1);
      resolve(code);
    }),
  );
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    output += chunk;
    if (cliPid === undefined) {
      const m = /PID=(\d+) /.exec(output);
      if (m) {
        cliPid = Number(m[1]);
        started.push(cliPid);
      }
    }
    if (output.length > OUTPUT_LIMIT && !flooded) {
      flooded = true;
      for (const pid of started) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
    }
    for (const check of watchers) check();
  });

  const terminal = {
    get output() {
      return output;
    },
    get flooded() {
      return flooded;
    },
    exited,
    /** Resolves once `done(output)` holds; rejects if the terminal floods or the CLI exits first. */
    waitFor<T>(what: string, done: (output: string) => T | undefined): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const check = () => {
          const value = done(output);
          if (value !== undefined) {
            watchers.delete(check);
            resolve(value);
          } else if (flooded) {
            watchers.delete(check);
            reject(new Error(`waiting for ${what}: over ${OUTPUT_LIMIT} bytes of output (flooded)`));
          }
        };
        watchers.add(check);
        void exited.then(() => {
          if (watchers.delete(check))
            reject(new Error(`the CLI exited before ${what}:\n${output.slice(-2000)}`));
        });
        check();
      });
    },
    /** Types on the terminal's keyboard. */
    type(keys: string): void {
      child.stdin!.write(keys);
    },
    /** The CLI's pid and tty, once the shell has printed them. */
    async target(): Promise<{ pid: number; tty: string }> {
      const t = await terminal.waitFor('the pid', (o) => /PID=(\d+) TTY=(\S+)/.exec(o) ?? undefined);
      return { pid: Number(t[1]), tty: t[2]! };
    },
    /** Waits for `n` more progress frames than the output holds now. */
    frames(n: number): Promise<true> {
      const from = output.length;
      return terminal.waitFor(`${n} progress frames`, (o) =>
        o.slice(from).split(SPINNER).length > n ? true : undefined,
      );
    },
  };
  return terminal;
}

/** Resizes the pseudo-terminal as a window manager would (TIOCSWINSZ: SIGWINCH to the CLI). */
function resize(tty: string, columns: number): void {
  const r = spawnSync('stty', ['-F', tty, 'cols', String(columns)]);
  expect(r.status, String(r.stderr)).toBe(0);
}

describe.skipIf(!hasScript)(
  `pvlab-host on a pseudo-terminal${hasScript ? '' : ' (skipped: `script` from util-linux is missing or cannot open a pseudo-terminal; Debian: apt-get install bsdutils)'}`,
  () => {
    it('a terminal reporting 0 columns: the progress line shows, the run ends, the output stays bounded', async () => {
      const t = inTerminal('stty cols 0 rows 24', ['run', '--guest', forever, '--timeout', '3000']);
      const code = await t.exited;
      expect(t.flooded).toBe(false);
      // The run lasted its 3 s, past the 1 s before the progress line appears.
      expect(t.output).toContain(SPINNER);
      expect(t.output).toContain('the run took longer than 3000 ms');
      expect(code).toBe(1);
      expect(t.output.length).toBeLessThan(64 * 1024);
    }, 120_000);

    it('resizes to 0, 1, huge and back keep the line bounded; SIGTERM then ends the run with 143', async () => {
      const save = join(dir, 'resized.snapshot.json');
      const trace = join(dir, 'resized.trace.json');
      const t = inTerminal('stty cols 100 rows 24', [
        'run',
        '--vcpus',
        '2',
        '--guest',
        forever,
        '--guest-arg',
        'every=100',
        '--save',
        save,
        '--trace',
        trace,
      ]);
      const { pid, tty } = await t.target();
      await t.frames(2);
      for (const columns of [0, 5000, 60, 0]) {
        resize(tty, columns);
        await t.frames(3);
      }
      // Too narrow for the line: it goes away; the guest's log lines keep coming.
      resize(tty, 1);
      const logged = t.output.split('calls\r\n').length;
      await t.waitFor('two more log lines', (o) =>
        o.split('calls\r\n').length >= logged + 2 ? true : undefined,
      );
      process.kill(pid, 'SIGTERM');
      const code = await t.exited;
      expect(t.flooded).toBe(false);
      expect(code).toBe(143);
      // The line was refitted or hidden as each resize came: it never spanned lines to clear.
      expect(t.output).not.toContain('\u001b[1A');
      expect(t.output).toContain(
        `pvlab-host: interrupted by SIGTERM: the run was stopped, no snapshot (--save ${save}) and no trace (--trace ${trace}) written`,
      );
      expect(readdirSync(dir)).toEqual([]);
    }, 120_000);

    it('Ctrl-C while the progress line is up ends the run with 130 and writes no snapshot', async () => {
      const save = join(dir, 'ctrl-c.snapshot.json');
      const t = inTerminal('stty cols 0 rows 24', [
        'run',
        '--vcpus',
        '2',
        '--guest',
        forever,
        '--save',
        save,
      ]);
      await t.target();
      await t.frames(2);
      // The terminal turns ^C into SIGINT for its foreground process: the CLI.
      t.type('\u0003');
      const code = await t.exited;
      expect(t.flooded).toBe(false);
      expect(code).toBe(130);
      expect(t.output).toContain(
        `pvlab-host: interrupted by SIGINT: the run was stopped, no snapshot (--save ${save}) written`,
      );
      expect(readdirSync(dir)).toEqual([]);
    }, 120_000);
  },
);
