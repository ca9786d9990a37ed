// What a configuration error may show of a value. Passwords and client secrets
// are never echoed (a typo in one is still a secret), and URLs lose the
// password of their `user:password@` part.

/** Variables whose value is a secret: never shown in an error or a log line. */
export function isSecretVariable(name: string): boolean {
  return /(_PASSWORD|_SECRET|_TOKEN)$/.test(name);
}

/** `scheme://user:password@host` -> `scheme://user:***@host`; anything else unchanged. */
export function withoutUrlPassword(value: string): string {
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@\s:]*):[^/@\s]*@/i, '$1:***@');
}

/** How an error message quotes the value given for `name`. */
export function shownValue(name: string, value: unknown): string {
  if (value === undefined) return '(not set)';
  if (isSecretVariable(name)) return '(set; value hidden)';
  return `(got ${JSON.stringify(typeof value === 'string' ? withoutUrlPassword(value) : value)})`;
}
