import { Admin } from "./admin";
import { Server } from "./server";
import { EventStream } from "./stream";
import type { CallOptions, ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, CountTokensRequest, EmbeddingsRequest, EmbeddingsResponse, GatewayOptions, Message, MessageStreamEvent, MessagesRequest, Model, ModelList, RerankRequest, RerankResponse, TokenCount } from "./types";
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
     * Serves the HTTP API (/v1, /admin when the config names an admin token,
     * /health, /metrics, /dashboard) on `addr`; port 0 picks a free port, which
     * `server.url` then names.
     */
    serve(addr?: string): Promise<Server>;
}
