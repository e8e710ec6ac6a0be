/**
 * The admin operations in-process, without the admin token (the host process
 * is trusted). They return the admin API's JSON; errors are OpenAI-shaped.
 */
import type { NativeGateway } from "./binding";
import { toMwsError } from "./errors";
import type {
  Account,
  CreatedKey,
  DeploymentList,
  Key,
  KeyList,
  KeyThrottle,
  UsageReport,
} from "./types";

/** The core's names of the admin operations (`AdminOp::name`) this class calls. */
type AdminOp =
  | "create_account"
  | "account"
  | "add_credits"
  | "set_plan"
  | "create_key"
  | "list_keys"
  | "set_key_throttle"
  | "revoke_key"
  | "usage"
  | "deployments";

export class Admin {
  #native: NativeGateway;

  /** @internal */
  constructor(native: NativeGateway) {
    this.#native = native;
  }

  /** Creates an account (no credits, no plan). */
  createAccount(name: string): Promise<Account> {
    return this.#op("create_account", "", { name });
  }

  account(accountId: string): Promise<Account> {
    return this.#op("account", accountId);
  }

  /** Adds credits: a positive number of USD with at most 9 decimals. */
  addCredits(accountId: string, amountUsd: number): Promise<Account> {
    return this.#op("add_credits", accountId, { amount_usd: amountUsd });
  }

  /** Sets a plan named in the config, or clears it with `null`. */
  setPlan(accountId: string, plan: string | null): Promise<Account> {
    return this.#op("set_plan", accountId, { plan });
  }

  /**
   * Creates a key, optionally throttled below the account's limits. The
   * secret (`key`) is in this answer only. Needs $25 of credits or a plan
   * (else `InsufficientCreditsError`).
   */
  createKey(accountId: string, name: string, throttle: KeyThrottle = {}): Promise<CreatedKey> {
    return this.#op("create_key", accountId, { name, rpm: throttle.rpm, tpm: throttle.tpm });
  }

  /** The account's keys, without secrets. */
  listKeys(accountId: string): Promise<KeyList> {
    return this.#op("list_keys", accountId);
  }

  /** Sets a key's throttle: a number sets a limit, `null` clears it, a missing field keeps it. */
  setKeyThrottle(keyId: string, throttle: KeyThrottle): Promise<Key> {
    return this.#op("set_key_throttle", keyId, { rpm: throttle.rpm, tpm: throttle.tpm });
  }

  /** Revokes a key: requests with it get `AuthenticationError` from then on. */
  revokeKey(keyId: string): Promise<Key> {
    return this.#op("revoke_key", keyId);
  }

  /** The account's usage ledger rows and their totals. */
  usage(accountId: string): Promise<UsageReport> {
    return this.#op("usage", accountId);
  }

  /** Every deployment of the profiles with its health (cooldowns, circuits, load). */
  deployments(): Promise<DeploymentList> {
    return this.#op("deployments", "");
  }

  async #op<T>(op: AdminOp, id: string, body: object = {}): Promise<T> {
    // JSON.stringify leaves out undefined fields, so they keep their value.
    const out = await this.#native.admin(op, id, JSON.stringify(body));
    if (out.error !== undefined) throw toMwsError(out.error);
    return JSON.parse(out.json ?? "null") as T;
  }
}
