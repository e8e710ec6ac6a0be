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
  pricing: { input_per_mtok_usd: number; output_per_mtok_usd: number };
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
  input_tokens: number;
  output_tokens: number;
  cost_usd: number;
  /** The HTTP status; 499 for a stream the client stopped. */
  status: number;
}

export interface UsageReport {
  account_id: string;
  data: LedgerRow[];
  totals: { requests: number; input_tokens: number; output_tokens: number; cost_usd: number };
}
