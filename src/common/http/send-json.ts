import type { Response } from 'express';

/**
 * Writes an already-serialised JSON body. Webhook responses are serialised once (their size must be checked
 * against the platform's limit before sending), so express's own send() would only repeat work.
 */
export function sendJson(response: Response, status: number, json: string): void {
  response.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(json, 'utf8'),
  });
  response.end(json);
}
