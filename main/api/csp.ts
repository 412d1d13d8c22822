/**
 * The Content-Security-Policy of the renderer page in both hosts: only the app's own scripts and
 * styles (no inline script, no eval), images from the app and from canvases (blob:, data:), network
 * only to the app itself (and, in the browser host, its WebSocket), no plugins, no framing.
 */
export function contentSecurityPolicy(extraConnect: readonly string[] = []): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' blob: data:",
    `connect-src ${["'self'", ...extraConnect].join(' ')}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/**
 * The policy of a report page shown inside the app (media/report/…): what the report's own meta tag
 * says (no script, no network, images inline), and a sandbox of its own.
 */
export const REPORT_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; sandbox";
