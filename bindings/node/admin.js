"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.Admin = void 0;
const errors_1 = require("./errors");
class Admin {
    #native;
    /** @internal */
    constructor(native) {
        this.#native = native;
    }
    /** Creates an account (no credits, no plan). */
    createAccount(name) {
        return this.#op("create_account", "", { name });
    }
    account(accountId) {
        return this.#op("account", accountId);
    }
    /** Adds credits: a positive number of USD with at most 9 decimals. */
    addCredits(accountId, amountUsd) {
        return this.#op("add_credits", accountId, { amount_usd: amountUsd });
    }
    /** Sets a plan named in the config, or clears it with `null`. */
    setPlan(accountId, plan) {
        return this.#op("set_plan", accountId, { plan });
    }
    /**
     * Creates a key, optionally throttled below the account's limits. The
     * secret (`key`) is in this answer only. Needs $25 of credits or a plan
     * (else `InsufficientCreditsError`).
     */
    createKey(accountId, name, throttle = {}) {
        return this.#op("create_key", accountId, { name, rpm: throttle.rpm, tpm: throttle.tpm });
    }
    /** The account's keys, without secrets. */
    listKeys(accountId) {
        return this.#op("list_keys", accountId);
    }
    /** Sets a key's throttle: a number sets a limit, `null` clears it, a missing field keeps it. */
    setKeyThrottle(keyId, throttle) {
        return this.#op("set_key_throttle", keyId, { rpm: throttle.rpm, tpm: throttle.tpm });
    }
    /** Revokes a key: requests with it get `AuthenticationError` from then on. */
    revokeKey(keyId) {
        return this.#op("revoke_key", keyId);
    }
    /** The account's usage ledger rows and their totals. */
    usage(accountId) {
        return this.#op("usage", accountId);
    }
    /** Every deployment of the profiles with its health (cooldowns, circuits, load). */
    deployments() {
        return this.#op("deployments", "");
    }
    async #op(op, id, body = {}) {
        // JSON.stringify leaves out undefined fields, so they keep their value.
        const out = await this.#native.admin(op, id, JSON.stringify(body));
        if (out.error !== undefined)
            throw (0, errors_1.toMwsError)(out.error);
        return JSON.parse(out.json ?? "null");
    }
}
exports.Admin = Admin;
