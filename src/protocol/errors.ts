import { ERROR_STATUS, type ErrorCode, type WireError } from "./types.ts";

/** An error with a stable protocol code; the one way failures cross the wire. */
export class NatterError extends Error {
  readonly code: ErrorCode;
  readonly retryAfterMs?: number;
  constructor(code: ErrorCode, message: string, retryAfterMs?: number) {
    super(message);
    this.name = "NatterError";
    this.code = code;
    this.retryAfterMs = retryAfterMs;
  }
  get status(): number {
    return ERROR_STATUS[this.code];
  }
  toWire(): WireError {
    const e: WireError = { code: this.code, message: this.message };
    if (this.retryAfterMs !== undefined) e.retry_after_ms = this.retryAfterMs;
    return e;
  }
  static fromWire(e: WireError): NatterError {
    return new NatterError(e.code, e.message, e.retry_after_ms);
  }
}
