// One GET to a server on this machine, for `discbridge health`: node:http(s) rather than fetch, because the hub's
// certificate names the hub's host name, not 127.0.0.1, and a health probe must not fail on that.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export function getLoopback(url: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  const request = url.startsWith('https:') ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { method: 'GET', rejectUnauthorized: false, timeout: timeoutMs, headers: { Accept: 'application/json' } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8').slice(0, 4096) }));
      response.on('error', reject);
    });
    outgoing.on('timeout', () => outgoing.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
    outgoing.on('error', reject);
    outgoing.end();
  });
}
