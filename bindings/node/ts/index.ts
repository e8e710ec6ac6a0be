/**
 * mws-gateway: the MWS LLM API gateway inside a Node.js process. Build a
 * `Gateway`, call its endpoints in-process (Promises and async iterators), or
 * serve its HTTP API for any OpenAI or Anthropic SDK client.
 */
import { NativeGateway, type ErrorInfo, type NativeStream, type Outcome } from "./binding";
import { Admin } from "./admin";
import { toMwsError } from "./errors";
import { Server } from "./server";
import { EventStream } from "./stream";
import type {
  CallOptions,
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionRequest,
  CompactedResponse,
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
  ResponseDeleted,
  ResponseInputItemList,
  ResponseInputItemsQuery,
  ResponseInputTokens,
  ResponseObject,
  ResponsesRequest,
  ResponseStreamEvent,
  TokenCount,
} from "./types";

export * from "./errors";
export * from "./types";
export { Admin, EventStream, Server };

/**
 * The core's names of the endpoints (`Endpoint::name`) this class calls; the
 * addon maps each to the core's endpoint and throws for any other.
 */
type Endpoint =
  | "messages"
  | "count_tokens"
  | "chat_completions"
  | "embeddings"
  | "rerank"
  | "models"
  | "responses"
  | "responses_input_tokens"
  | "responses_compact"
  | "response"
  | "delete_response"
  | "response_input_items";

/** The endpoints that stream. */
type StreamEndpoint = "messages" | "chat_completions" | "responses";

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
    return this.#call("count_tokens", request, options);
  }

  /** POST /v1/chat/completions (OpenAI Chat Completions). */
  chatCompletions(request: ChatCompletionRequest, options?: CallOptions): Promise<ChatCompletion> {
    return this.#call("chat_completions", request, options);
  }

  /** GET /v1/models, or GET /v1/models/{modelId} with an id (OpenAI shape). */
  models(modelId?: null, options?: CallOptions): Promise<ModelList>;
  models(modelId: string, options?: CallOptions): Promise<Model>;
  async models(modelId?: string | null, options?: CallOptions): Promise<ModelList | Model> {
    return this.#callOn("models", modelId ?? null, null, options);
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
    return this.#stream("chat_completions", request, options);
  }

  /**
   * POST /v1/responses (OpenAI Responses): the response object. Its text is
   * in its `output` items (`output[0].content[0].text` for a plain answer);
   * there is no `output_text` shortcut, which only the OpenAI SDKs add. Kept
   * for `response(id)` and `previous_response_id` unless `store: false`.
   */
  responses(request: ResponsesRequest, options?: CallOptions): Promise<ResponseObject> {
    return this.#call("responses", request, options);
  }

  /**
   * POST /v1/responses with `stream: true`: the Responses events, from
   * `response.created` to one `response.completed` (or `response.incomplete`,
   * `response.failed`), numbered by `sequence_number`; without `[DONE]`.
   */
  responsesStream(
    request: ResponsesRequest,
    options?: CallOptions,
  ): EventStream<ResponseStreamEvent> {
    return this.#stream("responses", request, options);
  }

  /** GET /v1/responses/{responseId}: a stored response; `NotFoundError` once deleted. */
  response(responseId: string, options?: CallOptions): Promise<ResponseObject> {
    return this.#callOn("response", responseId, null, options);
  }

  /** DELETE /v1/responses/{responseId}: forgets a stored response. */
  deleteResponse(responseId: string, options?: CallOptions): Promise<ResponseDeleted> {
    return this.#callOn("delete_response", responseId, null, options);
  }

  /**
   * GET /v1/responses/{responseId}/input_items: one page of the input items a
   * stored response was given (newest first unless `order: "asc"`).
   */
  responseInputItems(
    responseId: string,
    query: ResponseInputItemsQuery = {},
    options?: CallOptions,
  ): Promise<ResponseInputItemList> {
    return this.#callOn("response_input_items", responseId, query, options);
  }

  /** POST /v1/responses/input_tokens: the 4-characters-a-token estimate of a request's input. */
  responsesInputTokens(
    request: ResponsesRequest,
    options?: CallOptions,
  ): Promise<ResponseInputTokens> {
    return this.#call("responses_input_tokens", request, options);
  }

  /**
   * POST /v1/responses/compact: the conversation summarised into one
   * `compaction` item, to send back as the input of a later request.
   */
  responsesCompact(request: ResponsesRequest, options?: CallOptions): Promise<CompactedResponse> {
    return this.#call("responses_compact", request, options);
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

  #call<T>(endpoint: Endpoint, request: unknown, options?: CallOptions): Promise<T> {
    return this.#callOn(endpoint, null, request, options);
  }

  /** A call of an endpoint on one resource (`id`; null for the endpoints on none). */
  async #callOn<T>(
    endpoint: Endpoint,
    id: string | null,
    request: unknown,
    options?: CallOptions,
  ): Promise<T> {
    // The JSON text an HTTP client would send; parsed on the addon's threads.
    const body = JSON.stringify(request ?? null);
    return unwrap(await this.#native.call(endpoint, id, body, options?.apiKey ?? null));
  }

  #stream<T>(endpoint: StreamEndpoint, request: unknown, options?: CallOptions): EventStream<T> {
    return new EventStream<T>((): Promise<NativeStream | ErrorInfo> => {
      const body = JSON.stringify(request ?? null);
      return this.#native.stream(endpoint, body, options?.apiKey ?? null);
    });
  }
}
