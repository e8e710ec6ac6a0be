"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.Server = void 0;
/**
 * A running server. Like a `net.Server` it keeps the process alive until
 * `close()` (or `unref()`).
 */
class Server {
    /** `http://HOST:PORT`, the bound address (the picked port for port 0). */
    url;
    host;
    port;
    #native;
    #keepAlive;
    #closing = null;
    /** @internal */
    constructor(native) {
        this.#native = native;
        this.host = native.host;
        this.port = native.port;
        this.url = `http://${this.host}:${this.port}`;
        // The server runs on the addon's threads, which Node's event loop does not
        // see; this timer stands in for it (and keeps this object reachable).
        this.#keepAlive = setInterval(() => this.#native, 2 ** 31 - 1);
    }
    /** Lets the process exit while the server runs. */
    unref() {
        this.#keepAlive?.unref();
        return this;
    }
    /** Keeps the process alive while the server runs (the default). */
    ref() {
        this.#keepAlive?.ref();
        return this;
    }
    /**
     * Stops accepting connections, lets requests and streams in flight finish
     * (up to `server.shutdown_grace_secs`, 30 by default), then resolves.
     */
    close() {
        if (this.#keepAlive !== null) {
            clearInterval(this.#keepAlive);
            this.#keepAlive = null;
        }
        this.#closing ??= this.#native.close();
        return this.#closing;
    }
}
exports.Server = Server;
