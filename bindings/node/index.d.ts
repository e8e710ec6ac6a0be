import { Admin } from "./admin";
import { Server } from "./server";
import { EventStream } from "./stream";
import type { CallOptions, ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, CompactedResponse, CountTokensRequest, EmbeddingsRequest, EmbeddingsResponse, GatewayOptions, Message, MessageStreamEvent, MessagesRequest, Model, ModelList, RerankRequest, RerankResponse, ResponseDeleted, ResponseInputItemList, ResponseInputItemsQuery, ResponseInputTokens, ResponseObject, ResponsesRequest, ResponseStreamEvent, TokenCount } from "./types";
export * from "./errors";
export * from "./types";
export { Admin, EventStream, Server };
/**
 * A gateway: its catalogue, upstreams, store and limits, from a config.
 * Calls run on the addon's threads, never on the event loop, and any number
 * may run at once.
 */
export declare class Gateway {
    #private;
    /** Accounts, credits, plans, keys and usage, without the admin token. */
    readonly admin: Admin;
    /**
     * From a TOML file (`configPath`), TOML text (`configToml`), or neither:
     * the built-in catalogue on the echo upstream with the memory store.
     * A bad config throws `BadRequestError`.
     */
    constructor(options?: GatewayOptions);
    /** POST /v1/messages (Anthropic Messages). */
    messages(request: MessagesRequest, options?: CallOptions): Promise<Message>;
    /** POST /v1/messages/count_tokens: the 4-characters-a-token estimate. */
    countTokens(request: CountTokensRequest, options?: CallOptions): Promise<TokenCount>;
    /** POST /v1/chat/completions (OpenAI Chat Completions). */
    chatCompletions(request: ChatCompletionRequest, options?: CallOptions): Promise<ChatCompletion>;
    /** GET /v1/models, or GET /v1/models/{modelId} with an id (OpenAI shape). */
    models(modelId?: null, options?: CallOptions): Promise<ModelList>;
    models(modelId: string, options?: CallOptions): Promise<Model>;
    /** POST /v1/embeddings. */
    embeddings(request: EmbeddingsRequest, options?: CallOptions): Promise<EmbeddingsResponse>;
    /** POST /v1/rerank (Cohere/Jina shape). */
    rerank(request: RerankRequest, options?: CallOptions): Promise<RerankResponse>;
    /** POST /v1/messages with `stream: true`: the Anthropic events (`type` is the event name). */
    messagesStream(request: MessagesRequest, options?: CallOptions): EventStream<MessageStreamEvent>;
    /** POST /v1/chat/completions with `stream: true`: the chunks, without `[DONE]`. */
    chatCompletionsStream(request: ChatCompletionRequest, options?: CallOptions): EventStream<ChatCompletionChunk>;
    /**
     * POST /v1/responses (OpenAI Responses): the response object. Its text is
     * in its `output` items (`output[0].content[0].text` for a plain answer);
     * there is no `output_text` shortcut, which only the OpenAI SDKs add. Kept
     * for `response(id)` and `previous_response_id` unless `store: false`.
     */
    responses(request: ResponsesRequest, options?: CallOptions): Promise<ResponseObject>;
    /**
     * POST /v1/responses with `stream: true`: the Responses events, from
     * `response.created` to one `response.completed` (or `response.incomplete`,
     * `response.failed`), numbered by `sequence_number`; without `[DONE]`.
     */
    responsesStream(request: ResponsesRequest, options?: CallOptions): EventStream<ResponseStreamEvent>;
    /** GET /v1/responses/{responseId}: a stored response; `NotFoundError` once deleted. */
    response(responseId: string, options?: CallOptions): Promise<ResponseObject>;
    /** DELETE /v1/responses/{responseId}: forgets a stored response. */
    deleteResponse(responseId: string, options?: CallOptions): Promise<ResponseDeleted>;
    /**
     * GET /v1/responses/{responseId}/input_items: one page of the input items a
     * stored response was given (newest first unless `order: "asc"`).
     */
    responseInputItems(responseId: string, query?: ResponseInputItemsQuery, options?: CallOptions): Promise<ResponseInputItemList>;
    /** POST /v1/responses/input_tokens: the 4-characters-a-token estimate of a request's input. */
    responsesInputTokens(request: ResponsesRequest, options?: CallOptions): Promise<ResponseInputTokens>;
    /**
     * POST /v1/responses/compact: the conversation summarised into one
     * `compaction` item, to send back as the input of a later request.
     */
    responsesCompact(request: ResponsesRequest, options?: CallOptions): Promise<CompactedResponse>;
    /**
     * Serves the HTTP API (/v1, /admin when the config names an admin token,
     * /health, /metrics, /dashboard) on `addr`; port 0 picks a free port, which
     * `server.url` then names.
     */
    serve(addr?: string): Promise<Server>;
}
