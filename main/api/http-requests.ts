/**
 * What a request to the browser host brings, read with suspicion: its token (header, address or
 * cookie, compared in constant time), where its browser says it comes from (Sec-Fetch-Site), its path
 * as sent, and its body, which may be neither larger than 1 MiB nor nested deeper than 64 levels
 * (docs/security.md).
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { GabnError } from '../base/errors.ts';
import { jsonNestingDepth } from '../base/json.ts';

/** The token cookie's name for the host on `port`: cookies ignore ports, names do not. */
export function tokenCookieName(port: number): string {
  return `gabn_token_${port}`;
}
/** The largest request body, and the deepest nesting of its JSON. */
export const MAX_BODY = 1 << 20;
export const MAX_NESTING = 64;

export function sameToken(given: string | undefined, token: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function cookieToken(request: IncomingMessage, cookie: string): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === cookie) return value.join('=');
  }
  return undefined;
}

/**
 * What a browser says of where a request comes from: only the app's own pages ('same-origin') and
 * the person ('none': an address typed, a bookmark, a link from the terminal) may use the host.
 */
export function fromOwnPage(request: IncomingMessage): boolean | undefined {
  const site = request.headers['sec-fetch-site'];
  if (site === undefined) return undefined;
  return site === 'same-origin' || site === 'none';
}

/** A request body over MAX_BODY: answered 413. */
export class BodyTooLarge extends GabnError {
  constructor() {
    super('usage', `the request body is larger than ${MAX_BODY} bytes`, {
      expected: `an API argument of at most ${MAX_BODY} bytes of JSON`,
    });
  }
}

export function bearerToken(request: IncomingMessage): string | undefined {
  const header = request.headers.authorization;
  return header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
}

/** The raw path and query of a request, as sent: no `..` folding, so containment sees what was asked. */
export function splitUrl(raw: string): { pathname: string; query: URLSearchParams } {
  const q = raw.indexOf('?');
  return {
    pathname: q === -1 ? raw : raw.slice(0, q),
    query: new URLSearchParams(q === -1 ? '' : raw.slice(q + 1)),
  };
}

/**
 * The body, up to MAX_BODY bytes. A larger one is refused as soon as it is known to be larger (its
 * Content-Length, or the byte past the limit); what the client still sends is discarded, not kept,
 * and the connection closes after the 413, so the client reads a clear answer instead of a reset.
 */
export function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    if (Number(request.headers['content-length'] ?? 0) > MAX_BODY) {
      request.resume();
      reject(new BodyTooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        chunks.length = 0;
        request.off('data', onData);
        request.resume();
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    };
    request.on('data', onData);
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

/** A request body as the method's argument: JSON, nested at most MAX_NESTING levels. */
export function parseArgument(method: string, text: string): unknown {
  if (text.trim() === '') return undefined;
  if (jsonNestingDepth(text, MAX_NESTING) > MAX_NESTING) {
    throw new GabnError('usage', `${method}: the request body nests deeper than ${MAX_NESTING} levels`, {
      expected: `the argument as JSON nested at most ${MAX_NESTING} levels`,
    });
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new GabnError('usage', `${method}: the request body is not JSON`, {
      expected: 'the argument as JSON',
    });
  }
}

export function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new GabnError('usage', `malformed percent-encoding in '${segment.slice(0, 60)}'`);
  }
}
