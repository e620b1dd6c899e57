/**
 * clang's `-MD -MF` dependency files (Makefile syntax): `target: dep dep \` with continuation
 * lines, spaces in names escaped with a backslash, `$$` for `$`.
 */

/** The prerequisites of a dependency file, in order, duplicates kept. */
export function parseDepfile(text: string): string[] {
  const joined = text.replace(/\\\r?\n/g, ' ');
  const deps: string[] = [];
  for (const line of joined.split(/\r?\n/)) {
    const colon = targetEnd(line);
    if (colon < 0) continue;
    let word = '';
    const rest = line.slice(colon + 1);
    for (let i = 0; i < rest.length; i++) {
      const c = rest[i]!;
      if (c === '\\' && (rest[i + 1] === ' ' || rest[i + 1] === '#' || rest[i + 1] === '\\')) {
        word += rest[++i];
      } else if (c === '$' && rest[i + 1] === '$') {
        word += '$';
        i++;
      } else if (c === ' ' || c === '\t') {
        if (word) deps.push(word);
        word = '';
      } else word += c;
    }
    if (word) deps.push(word);
  }
  return deps;
}

/** Where the target ends: the first `: ` or a final `:` (a drive letter's `C:\` is not it). */
function targetEnd(line: string): number {
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '\\') {
      i++;
      continue;
    }
    if (line[i] === ':' && (i + 1 === line.length || line[i + 1] === ' ' || line[i + 1] === '\t')) return i;
  }
  return -1;
}

/** A dependency file naming `deps` for `target`, in the syntax `parseDepfile` reads. */
export function formatDepfile(target: string, deps: readonly string[]): string {
  const quoted = (p: string) => p.replaceAll('$', '$$$$').replaceAll(' ', '\\ ').replaceAll('#', '\\#');
  return `${quoted(target)}: ${deps.map(quoted).join(' \\\n  ')}\n`;
}
