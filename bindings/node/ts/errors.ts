/**
 * The errors of the gateway: one `MwsError` subclass per kind of failure, each
 * with the HTTP status and error `type` the same call gets over HTTP.
 */
import type { ErrorInfo, ErrorName } from "./binding";

/** What every gateway error carries. */
export interface MwsErrorFields {
  status: number;
  type: string;
  message: string;
  param?: string | null;
  retryAfter?: number | null;
}

/** Any error of the gateway; catch this to catch them all. */
export class MwsError extends Error {
  /** The HTTP status the same call gets over HTTP (400, 401, 402, ...). */
  readonly status: number;
  /**
   * The error `type` in the shape of the endpoint called: Anthropic's for
   * `messages` and `countTokens` (`invalid_request_error`, `billing_error`,
   * ...), OpenAI's for the others and for admin operations
   * (`invalid_request_error`, `insufficient_quota`, ...).
   */
  readonly type: string;
  /** The request field at fault, when known. */
  readonly param: string | null;
  /** Seconds to wait before retrying, on rate limits. */
  readonly retryAfter: number | null;

  constructor(fields: MwsErrorFields) {
    super(fields.message);
    this.name = new.target.name;
    this.status = fields.status;
    this.type = fields.type;
    this.param = fields.param ?? null;
    this.retryAfter = fields.retryAfter ?? null;
  }
}

/** 400: the request is malformed or a field has the wrong type or value. */
export class BadRequestError extends MwsError {}
/** 401: missing, invalid or revoked API key. */
export class AuthenticationError extends MwsError {}
/** 402: out of credits or quota. */
export class InsufficientCreditsError extends MwsError {}
/** 403: the key may not do this. */
export class PermissionDeniedError extends MwsError {}
/** 404: unknown model, account or key. */
export class NotFoundError extends MwsError {}
/** 405: the route exists but not with this method. */
export class MethodNotAllowedError extends MwsError {}
/** 413: the request is too large. */
export class PayloadTooLargeError extends MwsError {}
/** 429: a request or token limit was reached; see `retryAfter`. */
export class RateLimitError extends MwsError {}
/** 500: an unexpected state inside the gateway. */
export class InternalServerError extends MwsError {}
/** 502: the upstream failed or answered with something unusable. */
export class UpstreamError extends MwsError {}
/** 503: the gateway or the upstream is overloaded. */
export class OverloadedError extends MwsError {}
/** 504: the upstream did not answer in time. */
export class GatewayTimeoutError extends MwsError {}

// Keyed by the names the addon sends, so a name without a class fails to compile.
const classes: Record<ErrorName, new (fields: MwsErrorFields) => MwsError> = {
  BadRequestError,
  AuthenticationError,
  InsufficientCreditsError,
  PermissionDeniedError,
  NotFoundError,
  MethodNotAllowedError,
  PayloadTooLargeError,
  RateLimitError,
  InternalServerError,
  UpstreamError,
  OverloadedError,
  GatewayTimeoutError,
};

/** @internal The error the addon reported, as its class. */
export function toMwsError(info: ErrorInfo): MwsError {
  const Class = classes[info.name] ?? InternalServerError;
  return new Class(info);
}
