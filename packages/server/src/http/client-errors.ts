import { type Server, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { LabelerError } from '@labeler/core';
import { envelopeOf } from './envelope.js';

/** What Node's parser refused before any route saw the request, as the answer a client gets. */
function errorFor(code: string | undefined): LabelerError {
  if (code === 'HPE_HEADER_OVERFLOW')
    return new LabelerError(
      'VALIDATION_ERROR',
      'The request line and headers together exceed 16 KiB. Send shorter headers (Authorization, Idempotency-Key) and query strings.',
      { status: 431 },
    );
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT' || code === 'ERR_HTTP_HEADERS_TIMEOUT')
    return new LabelerError('VALIDATION_ERROR', 'The request headers did not arrive in time.', {
      status: 408,
    });
  return new LabelerError('VALIDATION_ERROR', 'The request is not valid HTTP/1.1.', { status: 400 });
}

/**
 * Requests Node's HTTP parser rejects (headers over its 16 KiB limit, malformed request lines, headers
 * that do not arrive in time) never reach express: without a listener Node answers a bare status line
 * with no body. This answers them in the API's error envelope instead, then closes the connection.
 */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    // A reset or a socket already answered (e.g. mid-response) has nobody left to tell.
    if (error.code === 'ECONNRESET' || !socket.writable || socket.bytesWritten > 0) {
      socket.destroy();
      return;
    }
    const failure = errorFor(error.code);
    const body = JSON.stringify(envelopeOf(failure));
    socket.end(
      `HTTP/1.1 ${failure.status} ${STATUS_CODES[failure.status]}\r\n` +
        'Content-Type: application/json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        'X-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n' +
        body,
    );
  });
}
