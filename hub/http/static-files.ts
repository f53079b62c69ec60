// Serves the dashboard page (built by scripts/build-web.mjs into dist/hub/web) for GET and HEAD: `/` is index.html,
// other names are files of that folder. Correct content types, revalidated caching (ETag + no-cache: the names carry
// no hash, so a browser asks each time and gets a 304 when nothing changed), and no way out of the folder: `..`,
// encoded slashes or backslashes, NUL and dot-files are refused, and the resolved real path must stay inside.
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};

/** The built page beside the compiled hub: dist/hub/http/ → dist/hub/web/. */
export const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../web/', import.meta.url));

function notFound(response: ServerResponse, status = 404, error = 'Not found'): void {
  const body = JSON.stringify({ error });
  response.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
  response.end(body);
}

/** The file name a URL path asks for, or undefined when the path is not a plain name inside the folder. */
export function safeRelativePath(rawPath: string): string | undefined {
  // Encoded separators and NUL could smuggle a path past the checks below, whatever decodes them later.
  if (/%(2f|5c|00)/i.test(rawPath)) return undefined;
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    return undefined;
  }
  if (path.includes('\0') || path.includes('\\')) return undefined;
  if (path === '/' || path === '') return 'index.html';
  const parts = path.split('/').slice(1);
  if (parts.some((part) => part === '' || part === '.' || part === '..' || part.startsWith('.'))) return undefined;
  return parts.join('/');
}

export class StaticFiles {
  private readonly root: Promise<string | undefined>;

  constructor(root: string = DEFAULT_WEB_ROOT) {
    this.root = realpath(root).catch(() => undefined);
  }

  /** Answers GET and HEAD requests for the page's files; returns false for anything else (the caller answers 404). */
  async handle(request: IncomingMessage, response: ServerResponse): Promise<boolean> {
    if (request.method !== 'GET' && request.method !== 'HEAD') return false;
    const rawPath = (request.url ?? '/').split('?')[0] ?? '/';
    const relative = safeRelativePath(rawPath);
    if (relative === undefined) {
      notFound(response, 400, 'Bad path');
      return true;
    }
    const root = await this.root;
    if (root === undefined) {
      if (relative === 'index.html') {
        notFound(response, 503, 'The dashboard page is not built: run npm run build');
        return true;
      }
      return false;
    }
    let file: string;
    let size: number;
    let mtime: Date;
    try {
      file = await realpath(join(root, relative));
      if (!file.startsWith(root + sep)) return false; // a symlink pointing out of the folder
      const info = await stat(file);
      if (!info.isFile()) return false;
      size = info.size;
      mtime = info.mtime;
    } catch {
      return false;
    }
    const etag = `"${size.toString(36)}-${Math.floor(mtime.getTime()).toString(36)}"`;
    const headers: Record<string, string | number> = {
      'Content-Type': TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
      'Cache-Control': 'no-cache',
      ETag: etag,
      'Last-Modified': mtime.toUTCString(),
      'X-Content-Type-Options': 'nosniff',
    };
    if (relative === 'index.html') {
      // The page talks only to its own hub.
      headers['Content-Security-Policy'] = "default-src 'self'; img-src 'self' data:; style-src 'self'; connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
      headers['Referrer-Policy'] = 'no-referrer';
    }
    if (request.headers['if-none-match'] === etag) {
      response.writeHead(304, headers);
      response.end();
      return true;
    }
    response.writeHead(200, { ...headers, 'Content-Length': size });
    if (request.method === 'HEAD') {
      response.end();
      return true;
    }
    await new Promise<void>((resolve) => {
      const stream = createReadStream(file);
      stream.on('error', () => {
        response.destroy();
        resolve();
      });
      stream.on('end', resolve);
      stream.pipe(response);
    });
    return true;
  }
}
