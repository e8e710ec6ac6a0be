/**
 * A running server. Like a `net.Server` it keeps the process alive until
 * `close()` (or `unref()`).
 */
export declare class Server {
    #private;
    /** `http://HOST:PORT`, the bound address (the picked port for port 0). */
    readonly url: string;
    readonly host: string;
    readonly port: number;
    /** Lets the process exit while the server runs. */
    unref(): this;
    /** Keeps the process alive while the server runs (the default). */
    ref(): this;
    /**
     * Stops accepting connections, lets requests and streams in flight finish
     * (up to `server.shutdown_grace_secs`, 30 by default), then resolves.
     */
    close(): Promise<void>;
}
