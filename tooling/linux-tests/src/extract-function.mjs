// Finds a C function's definition in a kernel source file and returns its text verbatim, so a
// shim can compile one function of a file whose whole would need too much shim. A small scanner,
// not a parser: it skips comments, string and character literals while it matches brackets.

/**
 * The index just past the bracket that closes the one at `open`, or -1.
 * @param {string} text
 * @param {number} open
 */
export function matchBracket(text, open) {
  const pairs = { '(': ')', '{': '}', '[': ']' };
  const stack = [];
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      if (end < 0) return -1;
      i = end + 1;
    } else if (c === '/' && text[i + 1] === '/') {
      const end = text.indexOf('\n', i);
      if (end < 0) return -1;
      i = end;
    } else if (c === '"' || c === "'") {
      for (i++; i < text.length && text[i] !== c; i++) if (text[i] === '\\') i++;
    } else if (c !== undefined && c in pairs) {
      stack.push(pairs[/** @type {'(' | '{' | '['} */ (c)]);
    } else if (c === ')' || c === '}' || c === ']') {
      if (stack.pop() !== c) return -1;
      if (stack.length === 0) return i + 1;
    }
  }
  return -1;
}

/**
 * The index of the next character that is not white space or inside a comment.
 * @param {string} text
 * @param {number} i
 */
function skipBlank(text, i) {
  while (i < text.length) {
    if (/\s/.test(text[i] ?? '')) i++;
    else if (text.startsWith('/*', i)) {
      const end = text.indexOf('*/', i + 2);
      if (end < 0) return text.length;
      i = end + 2;
    } else if (text.startsWith('//', i)) {
      const end = text.indexOf('\n', i);
      if (end < 0) return text.length;
      i = end;
    } else break;
  }
  return i;
}

/**
 * The first definition of function `name` in `text` (a prototype or a call is not one): its
 * text from the line where its declaration starts to its closing brace, and that line's number
 * (1-based). `undefined` when there is none.
 * @param {string} text
 * @param {string} name
 * @returns {{ text: string, line: number } | undefined}
 */
export function extractFunction(text, name) {
  const re = new RegExp(`\\b${name}\\s*\\(`, 'g');
  for (const m of text.matchAll(re)) {
    const open = m.index + m[0].length - 1;
    const close = matchBracket(text, open);
    if (close < 0) continue;
    const body = skipBlank(text, close);
    if (text[body] !== '{') continue;
    const end = matchBracket(text, body);
    if (end < 0) continue;
    // The declaration may start on earlier lines (`static int\nname(...)`): take each line above
    // that does not end a statement, a block, a comment or a directive.
    let start = text.lastIndexOf('\n', m.index) + 1;
    while (start > 0) {
      const prevStart = text.lastIndexOf('\n', start - 2) + 1;
      const prev = text.slice(prevStart, start - 1).trim();
      if (prev === '' || prev.startsWith('#') || /[;{}]$|\*\/$/.test(prev)) break;
      start = prevStart;
    }
    const line = text.slice(0, start).split('\n').length;
    return { text: text.slice(start, end), line };
  }
  return undefined;
}
