import type { IncomingMessage } from 'node:http';
import { LabelerError } from '@labeler/core';
import type { RequestHandler } from 'express';
import { JSON_CONTENT_TYPE, requestErrors } from './envelope.js';

/**
 * The one reader behind every JSON door (/api/v1 generic and fast lane, /trpc): a size limit that refuses a
 * body the moment it crosses it (chunked bodies too, without reading the rest: the answer closes the
 * connection), a deadline for the whole body, and the text checks below.
 */

declare global {
  interface String {
    /** ES2024 (Node 20+); the project's lib is ES2023. */
    isWellFormed(): boolean;
  }
}

/** Deeper JSON than any route's input; recursive code (validation, logging, JSON.stringify) stays far from the stack limit. */
export const MAX_JSON_DEPTH = 64;

export interface BodyLimits {
  maxBytes: number;
  /** The whole body must arrive within this many ms of when reading starts (0: no deadline). */
  timeoutMs: number;
}

/** True when the request declares no body at all (no Transfer-Encoding, Content-Length absent or 0). */
export function declaresNoBody(req: IncomingMessage): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return false;
  const length = req.headers['content-length'];
  return length === undefined || Number(length) === 0;
}

/** Reads the body as UTF-8 text; rejects with 413 at the limit and 408 at the deadline (the caller closes the connection). */
export function readBodyText(req: IncomingMessage, limits: BodyLimits): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limits.maxBytes) return reject(requestErrors.tooLarge());
    const chunks: Buffer[] = [];
    let size = 0;
    let timer: NodeJS.Timeout | undefined;
    const stop = (error?: unknown) => {
      if (timer) clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      if (error) {
        // Stop reading: the error answer carries Connection: close, so the rest is never read.
        req.pause();
        reject(error);
      }
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limits.maxBytes) return stop(requestErrors.tooLarge());
      chunks.push(chunk);
    };
    const onEnd = () => {
      stop();
      resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8'));
    };
    if (limits.timeoutMs > 0) {
      timer = setTimeout(() => stop(requestErrors.bodyTimeout()), limits.timeoutMs);
      timer.unref();
    }
    req.on('data', onData);
    req.once('end', onEnd);
    // The client went away mid-body: nobody will read the answer, but it is a client error, not ours.
    req.once('error', () => stop(requestErrors.incomplete()));
  });
}

const tooDeep = () =>
  new LabelerError(
    'VALIDATION_ERROR',
    `The JSON is nested more than ${MAX_JSON_DEPTH} levels deep; no input needs that.`,
    { details: { max_depth: MAX_JSON_DEPTH } },
  );

/**
 * Checks JSON text before it is parsed: nesting depth, and escapes that decode to text PostgreSQL cannot
 * store or that is not well-formed UTF-16 (`\u0000`, lone surrogates). One pass over the characters; only
 * text that escapes a surrogate is parsed and walked (a pair, e.g. an emoji, is fine).
 */
export function checkJsonText(text: string): void {
  let depth = 0;
  let inString = false;
  let surrogateEscape = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) {
        if (text.charCodeAt(i + 1) === 0x75 /* u */) {
          const hex = text.slice(i + 2, i + 6);
          if (hex === '0000') throw requestErrors.nul();
          if (/^[dD][89a-fA-F]/.test(hex)) surrogateEscape = true;
        }
        i++;
      } else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > MAX_JSON_DEPTH) throw tooDeep();
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) depth--;
  }
  if (surrogateEscape) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return; // the caller's own parse reports invalid JSON
    }
    checkValueText(parsed);
  }
}

/** Walks a parsed value (at most MAX_JSON_DEPTH deep) for keys and strings with NUL or lone surrogates. */
export function checkValueText(value: unknown, depth = 0): void {
  if (typeof value === 'string') {
    checkString(value);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  if (depth >= MAX_JSON_DEPTH) throw tooDeep();
  if (Array.isArray(value)) {
    for (const item of value) checkValueText(item, depth + 1);
    return;
  }
  for (const key in value) {
    checkString(key);
    checkValueText((value as Record<string, unknown>)[key], depth + 1);
  }
}

export function checkString(text: string): void {
  if (text.includes('\u0000')) throw requestErrors.nul();
  if (!text.isWellFormed()) throw requestErrors.malformedText();
}

/** Parses a JSON body after checkJsonText; an object's fields become input, anything else none (as the generic adapter merges it). */
export function parseJsonBody(text: string): unknown {
  checkJsonText(text);
  try {
    return JSON.parse(text);
  } catch {
    throw requestErrors.invalidJson();
  }
}

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/**
 * Express middleware for a JSON door. No body declared → `{}` (and a JSON content type, so the OpenAPI
 * adapter accepts body-less POSTs such as revoke); a body of another type → 415; else read, checked,
 * parsed into req.body, or, for tRPC (`raw`), the checked text (tRPC parses it itself).
 */
export function jsonDoor(limits: BodyLimits, options: { raw?: boolean } = {}): RequestHandler {
  return (req, _res, next) => {
    if (!BODY_METHODS.has(req.method)) return next();
    if (declaresNoBody(req)) {
      if (!options.raw) {
        req.headers['content-type'] = 'application/json';
        req.body = {};
      }
      return next();
    }
    const type = req.headers['content-type'];
    if (type ? !JSON_CONTENT_TYPE.test(type) : !options.raw) return next(requestErrors.notJson());
    const read = async () => {
      const text = await readBodyText(req, limits);
      if (options.raw) {
        checkJsonText(text);
        req.body = text;
      } else req.body = text ? parseJsonBody(text) : {};
    };
    read().then(() => next(), next);
  };
}
