// The admin API client. The admin token lives in this tab's session storage and
// travels only as an `Authorization: Bearer` header: never in a cookie, never in
// a URL.

const TOKEN_KEY = "mws-admin-token";

export function getToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function clearToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** An answer other than 2xx, with the message from the gateway's error JSON. */
export class ApiError extends Error {
  constructor(status, message, type = null, param = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.type = type;
    this.param = param;
  }
}

/**
 * Calls the admin API and returns its JSON; throws ApiError on any failure.
 * `token` overrides the stored one (for signing in).
 */
export async function api(method, path, body, token = getToken()) {
  const headers = { Authorization: `Bearer ${token ?? ""}` };
  const init = { method, headers, credentials: "omit", cache: "no-store" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, `cannot reach the gateway (${e.message})`);
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null; // not JSON: reported below with the text itself
  }
  if (!response.ok) {
    const err = data && typeof data === "object" ? data.error : null;
    const message =
      err && typeof err.message === "string"
        ? err.message
        : `HTTP ${response.status}${text ? `: ${text.slice(0, 300)}` : ""}`;
    throw new ApiError(response.status, message, err?.type ?? null, err?.param ?? null);
  }
  if (data === null) {
    throw new ApiError(response.status, `${method} ${path} answered without JSON`);
  }
  return data;
}

/** `path` with query parameters, skipping empty ones. */
export function withQuery(path, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

export const listAccounts = () => api("GET", "/admin/accounts");
const enc = encodeURIComponent;
export const accountPath = (id) => `/admin/accounts/${enc(id)}`;
export const keyPath = (id) => `/admin/keys/${enc(id)}`;
