/**
 * mws-gateway: the MWS LLM API gateway inside a Node.js process. Build a
 * `Gateway`, call its endpoints in-process (Promises and async iterators), or
 * serve its HTTP API for any OpenAI or Anthropic SDK client.
 */
import { NativeGateway, type CallEndpoint, type ErrorInfo, type NativeStream, type Outcome } from "./binding";
import { Admin } from "./admin";
import { toMwsError } from "./errors";
import { Server } from "./server";
import { EventStream } from "./stream";
import type {
  CallOptions,
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionRequest,
  CountTokensRequest,
  EmbeddingsRequest,
  EmbeddingsResponse,
  GatewayOptions,
  Message,
  MessageStreamEvent,
  MessagesRequest,
  Model,
  ModelList,
  RerankRequest,
  RerankResponse,
  TokenCount,
} from "./types";

export * from "./errors";
export * from "./types";
export { Admin, EventStream, Server };

function unwrap<T>(out: Outcome): T {
  if (out.error !== undefined) throw toMwsError(out.error);
  return JSON.parse(out.json ?? "null") as T;
}

/**
 * A gateway: its catalogue, upstreams, store and limits, from a config.
 * Calls run on the addon's threads, never on the event loop, and any number
 * may run at once.
 */
export class Gateway {
  /** Accounts, credits, plans, keys and usage, without the admin token. */
  readonly admin: Admin;
  #native: NativeGateway;

  /**
   * From a TOML file (`configPath`), TOML text (`configToml`), or neither:
   * the built-in catalogue on the echo upstream with the memory store.
   * A bad config throws `BadRequestError`.
   */
  constructor(options: GatewayOptions = {}) {
    const opened = NativeGateway.open(options.configPath ?? null, options.configToml ?? null);
    if (!(opened instanceof NativeGateway)) throw toMwsError(opened);
    this.#native = opened;
    this.admin = new Admin(opened);
  }

  /** POST /v1/messages (Anthropic Messages). */
  messages(request: MessagesRequest, options?: CallOptions): Promise<Message> {
    return this.#call("messages", request, options);
  }

  /** POST /v1/messages/count_tokens: the 4-characters-a-token estimate. */
  countTokens(request: CountTokensRequest, options?: CallOptions): Promise<TokenCount> {
    return this.#call("countTokens", request, options);
  }

  /** POST /v1/chat/completions (OpenAI Chat Completions). */
  chatCompletions(request: ChatCompletionRequest, options?: CallOptions): Promise<ChatCompletion> {
    return this.#call("chatCompletions", request, options);
  }

  /** GET /v1/models, or GET /v1/models/{modelId} with an id (OpenAI shape). */
  models(modelId?: null, options?: CallOptions): Promise<ModelList>;
  models(modelId: string, options?: CallOptions): Promise<Model>;
  async models(modelId?: string | null, options?: CallOptions): Promise<ModelList | Model> {
    return unwrap(await this.#native.models(modelId ?? null, options?.apiKey ?? null));
  }

  /** POST /v1/embeddings. */
  embeddings(request: EmbeddingsRequest, options?: CallOptions): Promise<EmbeddingsResponse> {
    return this.#call("embeddings", request, options);
  }

  /** POST /v1/rerank (Cohere/Jina shape). */
  rerank(request: RerankRequest, options?: CallOptions): Promise<RerankResponse> {
    return this.#call("rerank", request, options);
  }

  /** POST /v1/messages with `stream: true`: the Anthropic events (`type` is the event name). */
  messagesStream(request: MessagesRequest, options?: CallOptions): EventStream<MessageStreamEvent> {
    return this.#stream("messages", request, options);
  }

  /** POST /v1/chat/completions with `stream: true`: the chunks, without `[DONE]`. */
  chatCompletionsStream(
    request: ChatCompletionRequest,
    options?: CallOptions,
  ): EventStream<ChatCompletionChunk> {
    return this.#stream("chatCompletions", request, options);
  }

  /**
   * Serves the HTTP API (/v1, /admin when the config names an admin token,
   * /health, /metrics, /dashboard) on `addr`; port 0 picks a free port, which
   * `server.url` then names.
   */
  async serve(addr = "127.0.0.1:0"): Promise<Server> {
    const served = await this.#native.serve(addr);
    if ("status" in served) throw toMwsError(served);
    return new Server(served);
  }

  async #call<T>(endpoint: CallEndpoint, request: unknown, options?: CallOptions): Promise<T> {
    // The JSON text an HTTP client would send; parsed on the addon's threads.
    const body = JSON.stringify(request ?? null);
    return unwrap(await this.#native.call(endpoint, body, options?.apiKey ?? null));
  }

  #stream<T>(endpoint: CallEndpoint, request: unknown, options?: CallOptions): EventStream<T> {
    return new EventStream<T>((): Promise<NativeStream | ErrorInfo> => {
      const body = JSON.stringify(request ?? null);
      return this.#native.stream(endpoint, body, options?.apiKey ?? null);
    });
  }
}
