// A C++17 RAII wrapper over include/mws.h, and a program that uses it: every
// handle and string is owned by an object that frees it, and a failing call
// throws mws::Error carrying the status, the error type, the HTTP status, the
// message and the error body.
//
//   usage: cpp_wrapper
#include <cstdint>
#include <cstdio>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "mws.h"

namespace mws {

class Error : public std::runtime_error {
public:
    Error(mws_status status, std::string type, int http_status, const std::string &message,
          std::string body)
        : std::runtime_error(message), status_(status), type_(std::move(type)),
          http_status_(http_status), body_(std::move(body)) {}
    mws_status status() const noexcept { return status_; }
    const std::string &type() const noexcept { return type_; }
    int http_status() const noexcept { return http_status_; }
    // The error body the HTTP endpoint would send ("" for bad arguments).
    const std::string &body() const noexcept { return body_; }

private:
    mws_status status_;
    std::string type_;
    int http_status_;
    std::string body_;
};

namespace detail {

struct FreeString {
    void operator()(char *s) const noexcept { mws_string_free(s); }
};
struct FreeGateway {
    void operator()(mws_gateway *g) const noexcept { mws_gateway_free(g); }
};
struct FreeServer {
    void operator()(mws_server *s) const noexcept { mws_server_free(s); }
};

// Takes ownership of a string from the library and copies it out.
inline std::string take(char *s) {
    std::unique_ptr<char, FreeString> owned(s);
    return owned ? std::string(owned.get()) : std::string();
}

// Throws for anything but MWS_OK; `body` (owned) is the error body, if any.
inline void check(mws_status status, char *body = nullptr) {
    std::string text = take(body);
    if (status != MWS_OK) {
        throw Error(status, mws_last_error_type(), mws_last_error_http_status(), mws_last_error(),
                    std::move(text));
    }
}

// Calls `f(&out)` for a function that returns a string through `out`.
template <class F>
std::string string_call(F &&f) {
    char *out = nullptr;
    mws_status status = f(&out);
    if (status != MWS_OK) check(status, out);
    return take(out);
}

// Carries a C++ callable through the C callback; an exception is kept and
// rethrown after the library returns, never thrown through it.
template <class F>
struct StreamContext {
    F *on_event;
    std::exception_ptr error;

    static int trampoline(const char *type, const char *data, void *user) noexcept {
        auto *self = static_cast<StreamContext *>(user);
        try {
            return (*self->on_event)(std::string_view(type), std::string_view(data)) ? 0 : 1;
        } catch (...) {
            self->error = std::current_exception();
            return 1;
        }
    }
};

}  // namespace detail

class Server {
public:
    explicit Server(mws_server *handle) : handle_(handle) {}
    std::string url() const {
        return detail::string_call([&](char **out) { return mws_server_url(handle_.get(), out); });
    }
    std::uint16_t port() const {
        std::uint16_t port = 0;
        detail::check(mws_server_port(handle_.get(), &port));
        return port;
    }
    // Graceful; the destructor also stops a running server.
    void stop() { detail::check(mws_server_stop(handle_.get())); }

private:
    std::unique_ptr<mws_server, detail::FreeServer> handle_;
};

class Gateway {
public:
    // The built-in catalogue on the echo upstream, in memory.
    Gateway() {
        mws_gateway *g = nullptr;
        detail::check(mws_gateway_new(&g));
        handle_.reset(g);
    }
    static Gateway from_toml(const std::string &toml) {
        mws_gateway *g = nullptr;
        detail::check(mws_gateway_from_toml(toml.c_str(), &g));
        return Gateway(g);
    }
    static Gateway from_path(const std::string &path) {
        mws_gateway *g = nullptr;
        detail::check(mws_gateway_from_path(path.c_str(), &g));
        return Gateway(g);
    }

    // The endpoints: request JSON in, response JSON out; `api_key` may be null.
    std::string chat_completions(const std::string &request, const char *api_key = nullptr) const {
        return call(mws_chat_completions, request, api_key);
    }
    std::string messages(const std::string &request, const char *api_key = nullptr) const {
        return call(mws_messages, request, api_key);
    }
    std::string model(const std::string &id) const {
        return detail::string_call(
            [&](char **out) { return mws_models(get(), id.c_str(), nullptr, out); });
    }

    // Streams a Messages request; `on_event(type, data)` returns false to stop.
    template <class F>
    void messages_stream(const std::string &request, F &&on_event,
                         const char *api_key = nullptr) const {
        detail::StreamContext<std::remove_reference_t<F>> ctx{&on_event, nullptr};
        char *error_body = nullptr;
        mws_status status = mws_messages_stream(get(), request.c_str(), api_key, ctx.trampoline,
                                                &ctx, &error_body);
        if (ctx.error) {
            mws_string_free(error_body);
            std::rethrow_exception(ctx.error);
        }
        detail::check(status, error_body);
    }

    Server serve(const std::string &addr) const {
        mws_server *s = nullptr;
        detail::check(mws_serve(get(), addr.c_str(), &s));
        return Server(s);
    }

    // Two of the admin operations; the others follow the same pattern.
    std::string create_account(const std::string &name) const {
        return detail::string_call(
            [&](char **out) { return mws_admin_create_account(get(), name.c_str(), out); });
    }
    std::string add_credits(const std::string &account_id, double usd) const {
        return detail::string_call([&](char **out) {
            return mws_admin_add_credits(get(), account_id.c_str(), usd, out);
        });
    }

private:
    explicit Gateway(mws_gateway *g) : handle_(g) {}
    mws_gateway *get() const { return handle_.get(); }

    template <class Fn>
    std::string call(Fn fn, const std::string &request, const char *api_key) const {
        return detail::string_call(
            [&](char **out) { return fn(get(), request.c_str(), api_key, out); });
    }

    std::unique_ptr<mws_gateway, detail::FreeGateway> handle_;
};

}  // namespace mws

int main() {
    try {
        mws::Gateway gateway;

        std::string reply = gateway.chat_completions(
            R"({"model":"dragon","messages":[{"role":"user","content":"Hello from C++"}]})");
        std::printf("chat completion: %s\n", reply.c_str());

        std::string text;
        int events = 0;
        gateway.messages_stream(
            R"({"model":"dragon","max_tokens":64,"messages":[{"role":"user","content":"streamed from C++"}]})",
            [&](std::string_view type, std::string_view data) {
                ++events;
                if (type == "content_block_delta") {
                    // The echo text sits in "text":"..." of each delta.
                    auto at = data.find("\"text\":\"");
                    if (at != std::string_view::npos) {
                        auto rest = data.substr(at + 8);
                        text += std::string(rest.substr(0, rest.find('"')));
                    }
                }
                return true;
            });
        std::printf("stream: %d events, text: %s\n", events, text.c_str());

        // A C++ exception thrown in the callback stops the stream and comes back out.
        try {
            gateway.messages_stream(
                R"({"model":"dragon","max_tokens":64,"messages":[{"role":"user","content":"x"}]})",
                [](std::string_view, std::string_view) -> bool {
                    throw std::logic_error("stop here");
                });
        } catch (const std::logic_error &e) {
            std::printf("callback exception: %s\n", e.what());
        }

        try {
            gateway.model("no-such-model");
        } catch (const mws::Error &e) {
            std::printf("error: %s, HTTP %d, type %s: %s\n", mws_status_name(e.status()),
                        e.http_status(), e.type().c_str(), e.what());
        }

        // A gateway from TOML text, and two admin operations on it.
        mws::Gateway accounts = mws::Gateway::from_toml("[store]\nkind = \"memory\"\n");
        std::string account = accounts.create_account("cpp");
        auto id_at = account.find("\"id\":\"") + 6;
        std::string id = account.substr(id_at, account.find('"', id_at) - id_at);
        std::printf("account: %s\n", accounts.add_credits(id, 25.5).c_str());

        mws::Server server = gateway.serve("127.0.0.1:0");
        std::printf("serving on %s (port %u)\n", server.url().c_str(), unsigned(server.port()));
        server.stop();
        std::printf("stopped\n");
        return 0;
    } catch (const mws::Error &e) {
        std::fprintf(stderr, "cpp_wrapper: %s: %s\n", mws_status_name(e.status()), e.what());
        return 1;
    }
}
