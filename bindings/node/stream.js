"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.EventStream = void 0;
/**
 * Streamed answers as async iterators over the addon's pull-based stream.
 */
const binding_1 = require("./binding");
const errors_1 = require("./errors");
const DONE = Object.freeze({ done: true, value: undefined });
/**
 * The events of one streamed answer. The call starts at the first `next()`
 * (the first turn of a `for await` loop); an error before the first event is
 * thrown there as an `MwsError`. An error after the stream began arrives as
 * its last event, as over HTTP (an Anthropic `error` event, an OpenAI chunk
 * carrying `error`, or a Responses `error` event and then `response.failed`).
 *
 * Leaving a `for await` loop early (`break`, `return`, a throw) calls
 * `return()`, which drops the stream inside the gateway and so cancels the
 * upstream request; `close()` does the same by hand. A stream left unfinished
 * without either is released when it is garbage-collected.
 */
class EventStream {
    #open;
    #stream = null;
    #finished = false;
    /** @internal */
    constructor(open) {
        this.#open = open;
    }
    [Symbol.asyncIterator]() {
        return this;
    }
    /** The next event, or `done` once the answer is complete. */
    async next() {
        if (this.#finished)
            return DONE;
        this.#stream ??= this.#start();
        let stream;
        try {
            stream = await this.#stream;
        }
        catch (e) {
            this.#finished = true;
            throw e;
        }
        // Closed while it was opening.
        if (this.#finished)
            return DONE;
        const out = await stream.next();
        if (out.error !== undefined) {
            this.#finished = true;
            throw (0, errors_1.toMwsError)(out.error);
        }
        if (out.json === undefined) {
            this.#finished = true;
            return DONE;
        }
        return { done: false, value: JSON.parse(out.json) };
    }
    /** Stops the stream (cancelling the upstream request) and ends the iteration. */
    async return() {
        this.#finished = true;
        this.#open = null;
        const stream = await this.#stream?.catch(() => null);
        await stream?.close();
        return DONE;
    }
    /** The same as `return()`, for use outside a loop. */
    async close() {
        await this.return();
    }
    async #start() {
        const open = this.#open;
        this.#open = null;
        if (open === null)
            throw new Error("the stream was already closed");
        const opened = await open();
        if (opened instanceof binding_1.NativeStream)
            return opened;
        throw (0, errors_1.toMwsError)(opened);
    }
}
exports.EventStream = EventStream;
