/**
 * The JSON shapes of requests and replies. Each endpoint takes and returns
 * exactly the JSON of its HTTP counterpart; these types name the fields most
 * programs use and let the rest through.
 */

/** Fields beyond the ones named. */
export interface Extra {
  [field: string]: unknown;
}

/** Options of every in-process call. */
export interface CallOptions {
  /**
   * An API key (`mws_live_...`): the call is authenticated, rate-limited and
   * charged exactly as over HTTP. Without one it runs as the host process
   * itself, unmetered.
   */
  apiKey?: string;
}

/** How a gateway is built; with neither field, the built-in catalogue on the echo upstream with the memory store. */
export interface GatewayOptions {
  /** A TOML config file. */
  configPath?: string;
  /** A TOML config as text. */
  configToml?: string;
}

// ---- Anthropic Messages -------------------------------------------------

export interface MessageParam {
  role: "user" | "assistant";
  content: string | ContentBlockParam[];
}

/** A content block of a request: text, image, tool_use, tool_result, thinking. */
export interface ContentBlockParam extends Extra {
  type: string;
}

export interface Tool extends Extra {
  name: string;
  description?: string;
  input_schema: Extra;
}

export interface MessagesRequest extends Extra {
  model: string;
  max_tokens: number;
  messages: MessageParam[];
  system?: string | ContentBlockParam[];
  tools?: Tool[];
  tool_choice?: Extra & { type: "auto" | "any" | "tool" | "none"; name?: string };
  temperature?: number;
  stop_sequences?: string[];
}

export type CountTokensRequest = Omit<MessagesRequest, "max_tokens"> & { max_tokens?: number };

export interface TokenCount {
  input_tokens: number;
}

export interface TextBlock {
  type: "text";
  text: string;
}

export interface ToolUseBlock {
  type: "tool_use";
  id: string;
  name: string;
  input: Record<string, unknown>;
}

export interface ThinkingBlock {
  type: "thinking";
  thinking: string;
  signature: string;
}

export interface RedactedThinkingBlock {
  type: "redacted_thinking";
  data: string;
}

export type ContentBlock = TextBlock | ToolUseBlock | ThinkingBlock | RedactedThinkingBlock;

export type StopReason = "end_turn" | "max_tokens" | "stop_sequence" | "tool_use";

export interface MessageUsage extends Extra {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens?: number;
  cache_read_input_tokens?: number;
}

export interface Message {
  id: string;
  type: "message";
  role: "assistant";
  /** The model string the request named. */
  model: string;
  content: ContentBlock[];
  stop_reason: StopReason | null;
  stop_sequence: string | null;
  usage: MessageUsage;
}

export type ContentDelta =
  | { type: "text_delta"; text: string }
  | { type: "input_json_delta"; partial_json: string }
  | { type: "thinking_delta"; thinking: string }
  | { type: "signature_delta"; signature: string };

/** One event of a streamed Messages answer; `type` is the SSE event name. */
export type MessageStreamEvent =
  | { type: "message_start"; message: Message }
  | { type: "content_block_start"; index: number; content_block: ContentBlock }
  | { type: "content_block_delta"; index: number; delta: ContentDelta }
  | { type: "content_block_stop"; index: number }
  | {
      type: "message_delta";
      delta: { stop_reason: StopReason | null; stop_sequence: string | null };
      usage: MessageUsage;
    }
  | { type: "message_stop" }
  | { type: "ping" }
  | { type: "error"; error: { type: string; message: string } };

// ---- OpenAI Chat Completions --------------------------------------------

export interface ChatMessageParam extends Extra {
  role: "system" | "developer" | "user" | "assistant" | "tool";
  content?: string | Extra[] | null;
  tool_calls?: ToolCall[];
  tool_call_id?: string;
}

export interface ChatTool extends Extra {
  type: "function";
  function: { name: string; description?: string; parameters?: Extra };
}

export interface ChatCompletionRequest extends Extra {
  model: string;
  messages: ChatMessageParam[];
  max_tokens?: number;
  max_completion_tokens?: number;
  tools?: ChatTool[];
  stream_options?: { include_usage?: boolean };
}

export interface ToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

export type FinishReason = "stop" | "length" | "tool_calls" | "content_filter";

export interface CompletionUsage extends Extra {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export interface ChatCompletion {
  id: string;
  object: "chat.completion";
  created: number;
  model: string;
  choices: {
    index: number;
    message: {
      role: "assistant";
      content: string | null;
      refusal: string | null;
      tool_calls?: ToolCall[];
      reasoning_content?: string;
    };
    logprobs: null;
    finish_reason: FinishReason;
  }[];
  usage: CompletionUsage;
  system_fingerprint: string | null;
}

/** One chunk of a streamed Chat Completions answer (no `[DONE]` marker). */
export interface ChatCompletionChunk {
  id: string;
  object: "chat.completion.chunk";
  created: number;
  model: string;
  choices: {
    index: number;
    delta: {
      role?: "assistant";
      content?: string | null;
      reasoning_content?: string;
      tool_calls?: (Partial<ToolCall> & { index: number })[];
    };
    logprobs: null;
    finish_reason: FinishReason | null;
  }[];
  usage?: CompletionUsage | null;
  /** Set on the last chunk when the stream failed after it began. */
  error?: { message: string; type: string; param: string | null; code: string | null };
}

// ---- Models, embeddings, rerank -----------------------------------------

export interface Model {
  id: string;
  object: "model";
  created: number;
  owned_by: string;
  context_window: number;
  tokens_per_second: number;
  /** USD per million tokens; the cache prices are the input price unless the profile sets them. */
  pricing: {
    input_per_mtok_usd: number;
    output_per_mtok_usd: number;
    cache_read_per_mtok_usd: number;
    cache_write_per_mtok_usd: number;
  };
}

export interface ModelList {
  object: "list";
  data: Model[];
}

export interface EmbeddingsRequest extends Extra {
  model: string;
  input: string | string[] | number[] | number[][];
  encoding_format?: "float" | "base64";
  dimensions?: number;
}

export interface EmbeddingsResponse {
  object: "list";
  /** `embedding` is a base64 string of little-endian float32s with `encoding_format: "base64"`. */
  data: { object: "embedding"; index: number; embedding: number[] | string }[];
  model: string;
  usage: { prompt_tokens: number; total_tokens: number };
}

export interface RerankRequest extends Extra {
  model: string;
  query: string;
  documents: (string | { text: string })[];
  top_n?: number;
  return_documents?: boolean;
}

export interface RerankResponse {
  id: string;
  model: string;
  results: { index: number; relevance_score: number; document?: { text: string } }[];
  usage: { total_tokens: number };
}

// ---- OpenAI Responses ---------------------------------------------------

/**
 * An item of a Responses `input`: a message (`role` and `content`, `type`
 * optional), or an item a response gave back (`function_call`, `reasoning`,
 * `compaction`, ...) or answers one (`function_call_output` with its `call_id`).
 */
export interface ResponseInputItem extends Extra {
  type?: string;
  role?: "user" | "assistant" | "system" | "developer";
  content?: string | Extra[];
}

/** A tool of a Responses request: `function` (with `parameters`), `custom`, ... */
export interface ResponseTool extends Extra {
  type: string;
  name?: string;
  description?: string;
  parameters?: Extra;
}

export interface ResponsesRequest extends Extra {
  model: string;
  input: string | ResponseInputItem[];
  instructions?: string | null;
  /** Continues a stored response: its input and output come before this `input`. */
  previous_response_id?: string | null;
  tools?: ResponseTool[];
  tool_choice?: "auto" | "none" | "required" | Extra;
  max_output_tokens?: number | null;
  /** Whether the response is kept for `response(id)` and `previous_response_id` (default true). */
  store?: boolean;
  /** `["reasoning.encrypted_content"]` gives reasoning items their `encrypted_content`. */
  include?: string[];
  reasoning?: Extra & { effort?: string | null; summary?: string | null };
  temperature?: number;
  metadata?: Record<string, string>;
}

export interface ResponseOutputText {
  type: "output_text";
  text: string;
  annotations: unknown[];
  logprobs: unknown[];
}

export interface ResponseRefusal {
  type: "refusal";
  refusal: string;
}

export type ResponseItemStatus = "in_progress" | "completed" | "incomplete";

export interface ResponseOutputMessage {
  type: "message";
  id: string;
  status: ResponseItemStatus;
  role: "assistant";
  content: (ResponseOutputText | ResponseRefusal)[];
}

export interface ResponseFunctionCall {
  type: "function_call";
  id: string;
  status: ResponseItemStatus;
  call_id: string;
  name: string;
  /** The arguments as JSON text. */
  arguments: string;
}

export interface ResponseCustomToolCall {
  type: "custom_tool_call";
  id: string;
  status: ResponseItemStatus;
  call_id: string;
  name: string;
  input: string;
}

export interface ResponseReasoningItem {
  type: "reasoning";
  id: string;
  status: ResponseItemStatus;
  summary: { type: "summary_text"; text: string }[];
  /** Only when the request's `include` names `reasoning.encrypted_content`. */
  encrypted_content?: string;
}

/** An output item, in the order of the answer's parts. */
export type ResponseOutputItem =
  | ResponseOutputMessage
  | ResponseFunctionCall
  | ResponseCustomToolCall
  | ResponseReasoningItem;

export interface ResponseUsage extends Extra {
  /** Cache reads and writes included. */
  input_tokens: number;
  input_tokens_details: { cached_tokens: number; cache_write_tokens?: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

export type ResponseStatus = "in_progress" | "completed" | "incomplete" | "failed";

/** A response (`object: "response"`), with every setting of the request echoed beside these. */
export interface ResponseObject extends Extra {
  id: string;
  object: "response";
  created_at: number;
  completed_at: number | null;
  status: ResponseStatus;
  incomplete_details: { reason: "max_output_tokens" | "content_filter" } | null;
  /** The model string the request named. */
  model: string;
  previous_response_id: string | null;
  instructions: string | null;
  output: ResponseOutputItem[];
  error: { code: string; message: string } | null;
  usage: ResponseUsage | null;
  store: boolean;
  metadata: Record<string, string>;
}

/** The answer of `deleteResponse`. */
export interface ResponseDeleted {
  id: string;
  object: "response.deleted";
  deleted: true;
}

/** The paging query of `responseInputItems`: newest first (`desc`) unless `order: "asc"`. */
export interface ResponseInputItemsQuery {
  /** 1 to 100 items; 20 when not given. */
  limit?: number;
  /** Items after the one with this id. */
  after?: string;
  order?: "asc" | "desc";
}

/** One page of a stored response's input items, each with its `id`. */
export interface ResponseInputItemList {
  object: "list";
  data: (ResponseInputItem & { id: string })[];
  first_id: string | null;
  last_id: string | null;
  has_more: boolean;
}

export interface ResponseInputTokens {
  object: "response.input_tokens";
  input_tokens: number;
}

/** The answer of `responsesCompact`: one `compaction` item to send back as input. */
export interface CompactedResponse {
  id: string;
  object: "response.compaction";
  created_at: number;
  output: { type: "compaction"; id: string; encrypted_content: string }[];
  usage: ResponseUsage;
}

interface ResponseEventBase {
  /** 0 for `response.created`, then one more for each event. */
  sequence_number: number;
}

interface ResponseItemEventBase extends ResponseEventBase {
  item_id: string;
  output_index: number;
}

/**
 * One event of a streamed Responses answer (no `[DONE]` marker): from
 * `response.created` to exactly one `response.completed`, `response.incomplete`
 * or `response.failed`, which carries the whole response.
 */
export type ResponseStreamEvent =
  | (ResponseEventBase & {
      type:
        | "response.created"
        | "response.in_progress"
        | "response.completed"
        | "response.incomplete"
        | "response.failed";
      response: ResponseObject;
    })
  | (ResponseEventBase & {
      type: "response.output_item.added" | "response.output_item.done";
      output_index: number;
      item: ResponseOutputItem;
    })
  | (ResponseItemEventBase & {
      type: "response.content_part.added" | "response.content_part.done";
      content_index: number;
      part: ResponseOutputText | ResponseRefusal;
    })
  | (ResponseItemEventBase & {
      type: "response.output_text.delta";
      content_index: number;
      delta: string;
    })
  | (ResponseItemEventBase & {
      type: "response.output_text.done";
      content_index: number;
      text: string;
    })
  | (ResponseItemEventBase & {
      type: "response.function_call_arguments.delta" | "response.custom_tool_call_input.delta";
      delta: string;
    })
  | (ResponseItemEventBase & {
      type: "response.function_call_arguments.done";
      name: string;
      arguments: string;
    })
  | (ResponseItemEventBase & { type: "response.custom_tool_call_input.done"; input: string })
  | (ResponseItemEventBase & {
      type: "response.reasoning_summary_part.added" | "response.reasoning_summary_part.done";
      summary_index: number;
      part: { type: "summary_text"; text: string };
    })
  | (ResponseItemEventBase & {
      type: "response.reasoning_summary_text.delta";
      summary_index: number;
      delta: string;
    })
  | (ResponseItemEventBase & {
      type: "response.reasoning_summary_text.done";
      summary_index: number;
      text: string;
    })
  | (ResponseEventBase & {
      type: "error";
      code: string;
      message: string;
      param: string | null;
      error: { type: string; code: string; message: string; param: string | null };
    });

// ---- Admin ---------------------------------------------------------------

export interface Account {
  id: string;
  name: string;
  balance_usd: number;
  lifetime_spend_usd: number;
  plan: string | null;
  created_at: number;
}

/** A key's own limits, below its account's: requests and tokens per minute. */
export interface KeyThrottle {
  rpm?: number | null;
  tpm?: number | null;
}

export interface Key {
  id: string;
  account_id: string;
  name: string;
  /** The first characters of the secret, to tell keys apart. */
  prefix: string;
  rpm: number | null;
  tpm: number | null;
  revoked: boolean;
  created_at: number;
}

/** A new key with its secret, shown this once. */
export interface CreatedKey extends Key {
  key: string;
}

export interface KeyList {
  object: "list";
  data: Key[];
}

export interface LedgerRow {
  time: number;
  request_id: string;
  account_id: string;
  key_id: string;
  profile: string;
  /** Every input token, cache reads and writes included. */
  input_tokens: number;
  /** The part of `input_tokens` read from the upstream's prompt cache. */
  cache_read_tokens: number;
  /** The part of `input_tokens` written to the upstream's prompt cache. */
  cache_write_tokens: number;
  output_tokens: number;
  cost_usd: number;
  /** The HTTP status; 499 for a stream the client stopped. */
  status: number;
}

export interface UsageReport {
  account_id: string;
  data: LedgerRow[];
  totals: {
    requests: number;
    input_tokens: number;
    cache_read_tokens: number;
    cache_write_tokens: number;
    output_tokens: number;
    cost_usd: number;
  };
}

/** A profile naming a deployment: as one of its deployments, or a fallback. */
export interface DeploymentUse {
  id: string;
  role: "deployment" | "fallback";
  /** Its share next to the profile's other deployments (not for a fallback). */
  weight?: number;
}

/** One deployment (an upstream and the model it is asked for) and its health. */
export interface Deployment {
  /** `upstream/upstream_model`. */
  id: string;
  upstream: string;
  upstream_model: string;
  state: "healthy" | "cooling_down" | "circuit_open" | "half_open";
  /** Seconds until it takes calls again; 0 when it does. */
  available_in_secs: number;
  /** RFC 3339, while a 429 cools it down. */
  cooldown_until: string | null;
  /** RFC 3339, while its circuit is open or half-open. */
  circuit_open_until: string | null;
  consecutive_failures: number;
  in_flight: number;
  requests: number;
  errors: number;
  /** Recent latency (moving average), milliseconds. */
  latency_ms: number;
  /** Recent share of failed calls, 0 to 1. */
  error_rate: number;
  profiles: DeploymentUse[];
}

export interface DeploymentList {
  object: "list";
  data: Deployment[];
  /** Conversations remembered for sticky sessions. */
  sticky_sessions: number;
  /** Health changes waiting to be shared through the store. */
  pending_shares: number;
}
