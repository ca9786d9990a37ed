// The dashboard's static files (GET /, /assets/*) and Chart.js from the
// installed package, so the page works with no internet access. No auth here:
// the page asks for a key and sends it as a Bearer token on API calls.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PUBLIC_DIR = fileURLToPath(new URL('../public/', import.meta.url));

/** dist/chart.umd.js of the installed chart.js, resolved once at start-up. */
export function chartJsPath(): string {
  const require = createRequire(import.meta.url);
  // The package exports only its module entry points; the UMD build sits beside them.
  return join(dirname(require.resolve('chart.js')), 'chart.umd.js');
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.map': 'application/json; charset=utf-8',
};

export function contentType(path: string): string {
  return TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
}

const SAFE_SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

/**
 * The file under `root` for a URL path such as `app.js` or `vendor/x.js`, or
 * undefined when the path is not a plain relative path (no `..`, no dot files).
 */
export function safeJoin(root: string, urlPath: string): string | undefined {
  const segments = urlPath.split('/');
  if (segments.length === 0 || !segments.every((s) => SAFE_SEGMENT.test(s))) return undefined;
  const full = resolve(root, ...segments);
  return full.startsWith(resolve(root) + sep) ? full : undefined;
}

export const PLACEHOLDER_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Opt Out</title></head>
<body><h1>Opt Out analytics</h1>
<p>The dashboard files are not installed (services/query/public/ is empty).
The API is at <code>/v1/apps/{appId}/optouts/...</code>; see <a href="/openapi.json">/openapi.json</a>.</p>
</body></html>
`;

/** Reads a file, or undefined if it does not exist. */
export async function readIfExists(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR') return undefined;
    throw error;
  }
}
