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

/** Sends a webhook reply; a reply stored by an earlier delivery of the same turn is marked as replayed. */
export function sendReply(response: Response, reply: { status: number; json: string; replayed?: boolean }): void {
  if (reply.replayed) response.setHeader('Idempotent-Replayed', 'true');
  sendJson(response, reply.status, reply.json);
}
