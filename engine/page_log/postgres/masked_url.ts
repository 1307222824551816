/**
 * PostgreSQL URLs as messages show them: a password never appears.
 */

/** Query parameters of a PostgreSQL URL that carry secrets. */
const SECRET_PARAMETERS = ['password', 'sslpassword', 'sslkey'];

/**
 * The URL with its secrets masked: `postgres://user:secret@host/db?password=x` ->
 * `postgres://user:***@host/db?password=***`.
 */
export function maskedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    for (const name of SECRET_PARAMETERS) if (parsed.searchParams.has(name)) parsed.searchParams.set(name, '***');
    return parsed.toString().replaceAll('%2A%2A%2A', '***');
  } catch {
    return '(an unparsable URL)';
  }
}
