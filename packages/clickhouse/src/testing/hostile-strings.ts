// Strings built to break SQL string escaping: quotes, backslash sequences the
// server would interpret, every C0 control, SQL and template syntax, and the
// Unicode that tends to get mangled (separators, BOM, ZWJ sequences, RTL,
// astral code points). Deterministic: the same seed gives the same strings.
// Test support only; not exported from the package.

/** mulberry32: a tiny seeded PRNG, good enough to pick test pieces. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const C0 = Array.from({ length: 32 }, (_, i) => String.fromCharCode(i));

/** Sequences that mean something to a SQL parser, an escaper or a template engine. */
export const TRICKY_PIECES: readonly string[] = [
  "'",
  '"',
  '`',
  '\\',
  "\\'",
  "''",
  '\\\\',
  '\\n',
  '\\0',
  '\\N',
  '\\x41',
  '\\x',
  '\\u0041',
  '--',
  '/*',
  '*/',
  ';',
  '{a:String}',
  '{{x}}',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal JS-template lookalike is the point
  '${x}',
  '?',
  '$1',
  'FORMAT JSON',
  ' FORMAT TabSeparated\n',
  "'); DROP TABLE t; --",
  '%s',
  '\u007f',
  '\u0085',
  '\u00a0',
  '\u2028',
  '\u2029',
  '\ufeff',
  '\uffff',
  '\ufffd',
  'é',
  'e\u0301',
  'Привет',
  'שלום',
  'مرحبا',
  '\u202e',
  '日本語',
  '한국어',
  '😀',
  '👨‍👩‍👧‍👦',
  '🇫🇷',
  '\u{10ffff}',
  '\u{e000}',
  ...C0,
];

/** Hand-picked edge cases, always included first. */
export const EDGE_CASES: readonly string[] = [
  '',
  "'",
  '\\',
  "\\'",
  '\0',
  '\0\0\0',
  '\\0',
  'a\nb\r\nc',
  C0.join(''),
  '\u007f',
  "' OR '1'='1",
  'SELECT 1 FORMAT JSON',
  '{app_id:String}',
  '\ufeffBOM',
  '\u2028\u2029',
  '👨‍👩‍👧‍👦🇫🇷😀',
  'x'.repeat(5000),
  '\\'.repeat(257),
  "'".repeat(257),
];

function randomCodePoint(rand: () => number): string {
  for (;;) {
    const cp = rand() < 0.5 ? Math.floor(rand() * 0x10000) : 0x10000 + Math.floor(rand() * 0x100000);
    if (cp < 0xd800 || cp > 0xdfff) return String.fromCodePoint(cp); // surrogates are not characters
  }
}

function randomPiece(rand: () => number): string {
  const roll = rand();
  if (roll < 0.45) return TRICKY_PIECES[Math.floor(rand() * TRICKY_PIECES.length)]!;
  if (roll < 0.75) return String.fromCharCode(32 + Math.floor(rand() * 95)); // printable ASCII
  return randomCodePoint(rand);
}

/** `count` strings: the edge cases, then random strings of 0..39 pieces. */
export function hostileStrings(count: number, seed = 20240131): string[] {
  const rand = seededRandom(seed);
  const out = EDGE_CASES.slice(0, count);
  while (out.length < count) {
    const pieces = Math.floor(rand() * 40);
    let s = '';
    for (let i = 0; i < pieces; i++) s += randomPiece(rand);
    out.push(s);
  }
  return out;
}

/** Upper-case hex of the UTF-8 bytes, as ClickHouse's hex() prints it. */
export function utf8Hex(s: string): string {
  return Buffer.from(s, 'utf8').toString('hex').toUpperCase();
}
