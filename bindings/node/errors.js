"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.GatewayTimeoutError = exports.OverloadedError = exports.UpstreamError = exports.InternalServerError = exports.RateLimitError = exports.PayloadTooLargeError = exports.MethodNotAllowedError = exports.NotFoundError = exports.PermissionDeniedError = exports.InsufficientCreditsError = exports.AuthenticationError = exports.BadRequestError = exports.MwsError = void 0;
exports.toMwsError = toMwsError;
/** Any error of the gateway; catch this to catch them all. */
class MwsError extends Error {
    /** The HTTP status the same call gets over HTTP (400, 401, 402, ...). */
    status;
    /**
     * The error `type` in the shape of the endpoint called: Anthropic's for
     * `messages` and `countTokens` (`invalid_request_error`, `billing_error`,
     * ...), OpenAI's for the others and for admin operations
     * (`invalid_request_error`, `insufficient_quota`, ...).
     */
    type;
    /** The request field at fault, when known. */
    param;
    /** Seconds to wait before retrying, on rate limits. */
    retryAfter;
    constructor(fields) {
        super(fields.message);
        this.name = new.target.name;
        this.status = fields.status;
        this.type = fields.type;
        this.param = fields.param ?? null;
        this.retryAfter = fields.retryAfter ?? null;
    }
}
exports.MwsError = MwsError;
/** 400: the request is malformed or a field has the wrong type or value. */
class BadRequestError extends MwsError {
}
exports.BadRequestError = BadRequestError;
/** 401: missing, invalid or revoked API key. */
class AuthenticationError extends MwsError {
}
exports.AuthenticationError = AuthenticationError;
/** 402: out of credits or quota. */
class InsufficientCreditsError extends MwsError {
}
exports.InsufficientCreditsError = InsufficientCreditsError;
/** 403: the key may not do this. */
class PermissionDeniedError extends MwsError {
}
exports.PermissionDeniedError = PermissionDeniedError;
/** 404: unknown model, account or key. */
class NotFoundError extends MwsError {
}
exports.NotFoundError = NotFoundError;
/** 405: the route exists but not with this method. */
class MethodNotAllowedError extends MwsError {
}
exports.MethodNotAllowedError = MethodNotAllowedError;
/** 413: the request is too large. */
class PayloadTooLargeError extends MwsError {
}
exports.PayloadTooLargeError = PayloadTooLargeError;
/** 429: a request or token limit was reached; see `retryAfter`. */
class RateLimitError extends MwsError {
}
exports.RateLimitError = RateLimitError;
/** 500: an unexpected state inside the gateway. */
class InternalServerError extends MwsError {
}
exports.InternalServerError = InternalServerError;
/** 502: the upstream failed or answered with something unusable. */
class UpstreamError extends MwsError {
}
exports.UpstreamError = UpstreamError;
/** 503: the gateway or the upstream is overloaded. */
class OverloadedError extends MwsError {
}
exports.OverloadedError = OverloadedError;
/** 504: the upstream did not answer in time. */
class GatewayTimeoutError extends MwsError {
}
exports.GatewayTimeoutError = GatewayTimeoutError;
// Keyed by the names the addon sends, so a name without a class fails to compile.
const classes = {
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
function toMwsError(info) {
    const Class = classes[info.name] ?? InternalServerError;
    return new Class(info);
}
