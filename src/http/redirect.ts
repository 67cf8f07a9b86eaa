/** Statuses that send a request elsewhere (with a `Location`). */
export const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

/** How many redirects one request follows before it is an error. */
export const MAX_REDIRECTS = 5;

/** Where a redirect answer points (relative Locations resolved against `from`), or undefined when it is not a redirect. */
export function redirectTarget(statusCode: number, location: string | undefined, from: URL): URL | undefined {
  return REDIRECT_STATUSES.has(statusCode) && location ? new URL(location, from) : undefined;
}

/**
 * Whether credentials given for `origin` may go with a request to `to`: only to the same
 * scheme, host and port, so a redirect to a CDN, another host or plain HTTP never carries them.
 */
export function credentialsMayGo(origin: string, to: URL): boolean {
  return to.origin === origin;
}
