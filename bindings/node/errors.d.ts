/** What every gateway error carries. */
export interface MwsErrorFields {
    status: number;
    type: string;
    message: string;
    param?: string | null;
    retryAfter?: number | null;
}
/** Any error of the gateway; catch this to catch them all. */
export declare class MwsError extends Error {
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
    constructor(fields: MwsErrorFields);
}
/** 400: the request is malformed or a field has the wrong type or value. */
export declare class BadRequestError extends MwsError {
}
/** 401: missing, invalid or revoked API key. */
export declare class AuthenticationError extends MwsError {
}
/** 402: out of credits or quota. */
export declare class InsufficientCreditsError extends MwsError {
}
/** 403: the key may not do this. */
export declare class PermissionDeniedError extends MwsError {
}
/** 404: unknown model, account or key. */
export declare class NotFoundError extends MwsError {
}
/** 405: the route exists but not with this method. */
export declare class MethodNotAllowedError extends MwsError {
}
/** 413: the request is too large. */
export declare class PayloadTooLargeError extends MwsError {
}
/** 429: a request or token limit was reached; see `retryAfter`. */
export declare class RateLimitError extends MwsError {
}
/** 500: an unexpected state inside the gateway. */
export declare class InternalServerError extends MwsError {
}
/** 502: the upstream failed or answered with something unusable. */
export declare class UpstreamError extends MwsError {
}
/** 503: the gateway or the upstream is overloaded. */
export declare class OverloadedError extends MwsError {
}
/** 504: the upstream did not answer in time. */
export declare class GatewayTimeoutError extends MwsError {
}
