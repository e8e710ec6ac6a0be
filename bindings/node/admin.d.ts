import type { Account, CreatedKey, DeploymentList, Key, KeyList, KeyThrottle, UsageReport } from "./types";
export declare class Admin {
    #private;
    /** Creates an account (no credits, no plan). */
    createAccount(name: string): Promise<Account>;
    account(accountId: string): Promise<Account>;
    /** Adds credits: a positive number of USD with at most 9 decimals. */
    addCredits(accountId: string, amountUsd: number): Promise<Account>;
    /** Sets a plan named in the config, or clears it with `null`. */
    setPlan(accountId: string, plan: string | null): Promise<Account>;
    /**
     * Creates a key, optionally throttled below the account's limits. The
     * secret (`key`) is in this answer only. Needs $25 of credits or a plan
     * (else `InsufficientCreditsError`).
     */
    createKey(accountId: string, name: string, throttle?: KeyThrottle): Promise<CreatedKey>;
    /** The account's keys, without secrets. */
    listKeys(accountId: string): Promise<KeyList>;
    /** Sets a key's throttle: a number sets a limit, `null` clears it, a missing field keeps it. */
    setKeyThrottle(keyId: string, throttle: KeyThrottle): Promise<Key>;
    /** Revokes a key: requests with it get `AuthenticationError` from then on. */
    revokeKey(keyId: string): Promise<Key>;
    /** The account's usage ledger rows and their totals. */
    usage(accountId: string): Promise<UsageReport>;
    /** Every deployment of the profiles with its health (cooldowns, circuits, load). */
    deployments(): Promise<DeploymentList>;
}
