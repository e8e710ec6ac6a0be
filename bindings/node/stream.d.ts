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
export declare class EventStream<T> implements AsyncIterableIterator<T> {
    #private;
    [Symbol.asyncIterator](): this;
    /** The next event, or `done` once the answer is complete. */
    next(): Promise<IteratorResult<T, undefined>>;
    /** Stops the stream (cancelling the upstream request) and ends the iteration. */
    return(): Promise<IteratorResult<T, undefined>>;
    /** The same as `return()`, for use outside a loop. */
    close(): Promise<void>;
}
