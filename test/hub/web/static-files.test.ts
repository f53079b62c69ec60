// The hub serving the dashboard page's files (hub/http/static-files.ts): content types, caching, and no way out of
// the folder.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StaticFiles, safeRelativePath } from '../../../hub/http/static-files.js';

let dir: string;
let server: Server;
let port: number;

/** A raw request: fetch() would normalise `..` away before it is sent. */
function get(path: string, method = 'GET', headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'discbridge-static-'));
  const root = join(dir, 'web');
  mkdirSync(join(root, 'sub'), { recursive: true });
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>x</title>');
  writeFileSync(join(root, 'app.js'), 'console.log(1)');
  writeFileSync(join(root, 'styles.css'), 'body{}');
  writeFileSync(join(root, 'sub', 'a.svg'), '<svg/>');
  writeFileSync(join(root, '.env'), 'SECRET=1');
  writeFileSync(join(dir, 'outside.txt'), 'outside');
  symlinkSync(join(dir, 'outside.txt'), join(root, 'link.txt'));
  const files = new StaticFiles(root);
  server = createServer((req, res) => {
    void files.handle(req, res).then((handled) => {
      if (!handled) {
        res.writeHead(404, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ error: 'Not found' }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

describe('static files', () => {
  it('serves the page with the right types and revalidated caching', async () => {
    const index = await get('/');
    expect(index.status).toBe(200);
    expect(index.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(index.headers['cache-control']).toBe('no-cache');
    expect(index.headers['content-security-policy']).toContain("default-src 'self'");
    expect(index.body).toContain('<title>x</title>');
    expect((await get('/index.html')).status).toBe(200);
    expect((await get('/app.js')).headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect((await get('/styles.css?v=2')).headers['content-type']).toBe('text/css; charset=utf-8');
    expect((await get('/sub/a.svg')).headers['content-type']).toBe('image/svg+xml');
    const etag = (await get('/app.js')).headers.etag as string;
    expect(etag).toMatch(/^".+"$/);
    expect((await get('/app.js', 'GET', { 'If-None-Match': etag })).status).toBe(304);
    const head = await get('/app.js', 'HEAD');
    expect(head).toMatchObject({ status: 200, body: '' });
    expect(head.headers['content-length']).toBe('14');
  });

  it('answers only GET and HEAD; anything else is left to the caller', async () => {
    expect((await get('/', 'POST')).status).toBe(404);
    expect((await get('/missing.js')).status).toBe(404);
    expect((await get('/sub')).status).toBe(404); // a folder is not a file
  });

  it('never leaves its folder', async () => {
    for (const path of ['/../outside.txt', '/sub/../../outside.txt', '/%2e%2e/outside.txt', '/..%2foutside.txt', '/sub%2fa.svg', '/..%5coutside.txt',
      '/app.js%00.png', '/.env', '/sub/./a.svg', '//etc/passwd', '/%E0%A4%A']) {
      const answer = await get(path);
      expect([400, 404], path).toContain(answer.status);
      expect(answer.body).not.toContain('outside');
      expect(answer.body).not.toContain('SECRET');
    }
    expect((await get('/link.txt')).status).toBe(404); // a symlink pointing out
  });

  it('maps paths to names inside the folder', () => {
    expect(safeRelativePath('/')).toBe('index.html');
    expect(safeRelativePath('/app.js')).toBe('app.js');
    expect(safeRelativePath('/sub/a%20b.css')).toBe('sub/a b.css');
    expect(safeRelativePath('/a/../b')).toBeUndefined();
    expect(safeRelativePath('/a%2Fb')).toBeUndefined();
    expect(safeRelativePath('/a\\b')).toBeUndefined();
  });
});
