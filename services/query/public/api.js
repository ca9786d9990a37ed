// Calls to the query API (/v1/apps/{appId}/optouts/...). The key travels only in
// the Authorization header: never in a URL, never in a log.

/** An error answer of the API ({error:{code,message,details}}) or a network failure. */
export class ApiError extends Error {
  constructor(status, code, message, details = []) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
  }

  /** 401 / 403: the key is wrong or does not grant the app; every chart fails alike. */
  get isAuth() {
    return this.status === 401 || this.status === 403;
  }
}

function endpoint(appId, name, params) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') query.set(key, String(value));
  }
  return `/v1/apps/${encodeURIComponent(appId)}/optouts/${name}?${query}`;
}

async function errorFrom(response) {
  let body;
  try {
    body = await response.json();
  } catch {
    body = undefined;
  }
  const error = body?.error;
  if (error && typeof error.message === 'string') {
    return new ApiError(response.status, error.code ?? 'error', error.message, error.details ?? []);
  }
  return new ApiError(response.status, 'http_error', `HTTP ${response.status} ${response.statusText}`.trim());
}

async function request(appId, name, params, key, signal) {
  let response;
  try {
    response = await fetch(endpoint(appId, name, params), {
      headers: { authorization: `Bearer ${key}`, accept: 'application/json' },
      signal,
      cache: 'no-store',
    });
  } catch (error) {
    if (error?.name === 'AbortError') throw error;
    throw new ApiError(0, 'network', 'The query service cannot be reached.');
  }
  if (!response.ok) throw await errorFrom(response);
  return response;
}

/** GET one JSON report (trend, push-pressure, campaigns, events). */
export async function getReport(appId, name, params, key, signal) {
  const response = await request(appId, name, params, key, signal);
  return response.json();
}

/** The file name in a Content-Disposition header (filename*= or filename=), if any. */
export function fileNameFrom(disposition) {
  if (!disposition) return undefined;
  const extended = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(disposition);
  if (extended) {
    try {
      return decodeURIComponent(extended[1].trim());
    } catch {
      // fall through to the plain form
    }
  }
  const plain = /filename\s*=\s*"((?:[^"\\]|\\.)*)"|filename\s*=\s*([^;]+)/.exec(disposition);
  if (!plain) return undefined;
  return (plain[1] ?? plain[2]).replace(/\\(.)/g, '$1').trim();
}

/**
 * Downloads the export for the opt-out range + channel: fetched with the Bearer
 * header, then saved through a Blob URL and a temporary <a download>.
 * Returns the file name and its size in bytes.
 */
export async function downloadExport(appId, params, key) {
  const response = await request(appId, 'export', { ...params, format: 'csv' }, key);
  const blob = await response.blob();
  const fileName =
    fileNameFrom(response.headers.get('content-disposition')) ?? `optouts-${appId}-${params.channel}.csv`;
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  link.style.display = 'none';
  document.body.append(link);
  link.click();
  link.remove();
  // Revoke later: the browser may still be reading the Blob when click() returns.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return { fileName, bytes: blob.size };
}
