"use strict";
var __createBinding = (this && this.__createBinding) || (Object.create ? (function(o, m, k, k2) {
    if (k2 === undefined) k2 = k;
    var desc = Object.getOwnPropertyDescriptor(m, k);
    if (!desc || ("get" in desc ? !m.__esModule : desc.writable || desc.configurable)) {
      desc = { enumerable: true, get: function() { return m[k]; } };
    }
    Object.defineProperty(o, k2, desc);
}) : (function(o, m, k, k2) {
    if (k2 === undefined) k2 = k;
    o[k2] = m[k];
}));
var __exportStar = (this && this.__exportStar) || function(m, exports) {
    for (var p in m) if (p !== "default" && !Object.prototype.hasOwnProperty.call(exports, p)) __createBinding(exports, m, p);
};
Object.defineProperty(exports, "__esModule", { value: true });
exports.Gateway = exports.Server = exports.EventStream = exports.Admin = void 0;
/**
 * mws-gateway: the MWS LLM API gateway inside a Node.js process. Build a
 * `Gateway`, call its endpoints in-process (Promises and async iterators), or
 * serve its HTTP API for any OpenAI or Anthropic SDK client.
 */
const binding_1 = require("./binding");
const admin_1 = require("./admin");
Object.defineProperty(exports, "Admin", { enumerable: true, get: function () { return admin_1.Admin; } });
const errors_1 = require("./errors");
const server_1 = require("./server");
Object.defineProperty(exports, "Server", { enumerable: true, get: function () { return server_1.Server; } });
const stream_1 = require("./stream");
Object.defineProperty(exports, "EventStream", { enumerable: true, get: function () { return stream_1.EventStream; } });
__exportStar(require("./errors"), exports);
__exportStar(require("./types"), exports);
function unwrap(out) {
    if (out.error !== undefined)
        throw (0, errors_1.toMwsError)(out.error);
    return JSON.parse(out.json ?? "null");
}
/**
 * A gateway: its catalogue, upstreams, store and limits, from a config.
 * Calls run on the addon's threads, never on the event loop, and any number
 * may run at once.
 */
class Gateway {
    /** Accounts, credits, plans, keys and usage, without the admin token. */
    admin;
    #native;
    /**
     * From a TOML file (`configPath`), TOML text (`configToml`), or neither:
     * the built-in catalogue on the echo upstream with the memory store.
     * A bad config throws `BadRequestError`.
     */
    constructor(options = {}) {
        const opened = binding_1.NativeGateway.open(options.configPath ?? null, options.configToml ?? null);
        if (!(opened instanceof binding_1.NativeGateway))
            throw (0, errors_1.toMwsError)(opened);
        this.#native = opened;
        this.admin = new admin_1.Admin(opened);
    }
    /** POST /v1/messages (Anthropic Messages). */
    messages(request, options) {
        return this.#call("messages", request, options);
    }
    /** POST /v1/messages/count_tokens: the 4-characters-a-token estimate. */
    countTokens(request, options) {
        return this.#call("count_tokens", request, options);
    }
    /** POST /v1/chat/completions (OpenAI Chat Completions). */
    chatCompletions(request, options) {
        return this.#call("chat_completions", request, options);
    }
    async models(modelId, options) {
        return this.#callOn("models", modelId ?? null, null, options);
    }
    /** POST /v1/embeddings. */
    embeddings(request, options) {
        return this.#call("embeddings", request, options);
    }
    /** POST /v1/rerank (Cohere/Jina shape). */
    rerank(request, options) {
        return this.#call("rerank", request, options);
    }
    /** POST /v1/messages with `stream: true`: the Anthropic events (`type` is the event name). */
    messagesStream(request, options) {
        return this.#stream("messages", request, options);
    }
    /** POST /v1/chat/completions with `stream: true`: the chunks, without `[DONE]`. */
    chatCompletionsStream(request, options) {
        return this.#stream("chat_completions", request, options);
    }
    /**
     * POST /v1/responses (OpenAI Responses): the response object. Its text is
     * in its `output` items (`output[0].content[0].text` for a plain answer);
     * there is no `output_text` shortcut, which only the OpenAI SDKs add. Kept
     * for `response(id)` and `previous_response_id` unless `store: false`.
     */
    responses(request, options) {
        return this.#call("responses", request, options);
    }
    /**
     * POST /v1/responses with `stream: true`: the Responses events, from
     * `response.created` to one `response.completed` (or `response.incomplete`,
     * `response.failed`), numbered by `sequence_number`; without `[DONE]`.
     */
    responsesStream(request, options) {
        return this.#stream("responses", request, options);
    }
    /** GET /v1/responses/{responseId}: a stored response; `NotFoundError` once deleted. */
    response(responseId, options) {
        return this.#callOn("response", responseId, null, options);
    }
    /** DELETE /v1/responses/{responseId}: forgets a stored response. */
    deleteResponse(responseId, options) {
        return this.#callOn("delete_response", responseId, null, options);
    }
    /**
     * GET /v1/responses/{responseId}/input_items: one page of the input items a
     * stored response was given (newest first unless `order: "asc"`).
     */
    responseInputItems(responseId, query = {}, options) {
        return this.#callOn("response_input_items", responseId, query, options);
    }
    /** POST /v1/responses/input_tokens: the 4-characters-a-token estimate of a request's input. */
    responsesInputTokens(request, options) {
        return this.#call("responses_input_tokens", request, options);
    }
    /**
     * POST /v1/responses/compact: the conversation summarised into one
     * `compaction` item, to send back as the input of a later request.
     */
    responsesCompact(request, options) {
        return this.#call("responses_compact", request, options);
    }
    /**
     * Serves the HTTP API (/v1, /admin when the config names an admin token,
     * /health, /metrics, /dashboard) on `addr`; port 0 picks a free port, which
     * `server.url` then names.
     */
    async serve(addr = "127.0.0.1:0") {
        const served = await this.#native.serve(addr);
        if ("status" in served)
            throw (0, errors_1.toMwsError)(served);
        return new server_1.Server(served);
    }
    #call(endpoint, request, options) {
        return this.#callOn(endpoint, null, request, options);
    }
    /** A call of an endpoint on one resource (`id`; null for the endpoints on none). */
    async #callOn(endpoint, id, request, options) {
        // The JSON text an HTTP client would send; parsed on the addon's threads.
        const body = JSON.stringify(request ?? null);
        return unwrap(await this.#native.call(endpoint, id, body, options?.apiKey ?? null));
    }
    #stream(endpoint, request, options) {
        return new stream_1.EventStream(() => {
            const body = JSON.stringify(request ?? null);
            return this.#native.stream(endpoint, body, options?.apiKey ?? null);
        });
    }
}
exports.Gateway = Gateway;
