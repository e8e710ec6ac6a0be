//! The Node addon of the MWS gateway: napi-rs classes over `mws_core::Gateway`.
//!
//! This crate is the native half, generated into `binding.js`/`binding.d.ts`.
//! The public API (`Gateway`, async iterators, `MwsError` classes, `admin`) is
//! the thin TypeScript layer in `ts/`, compiled to `index.js`/`index.d.ts`.
//! Requests and replies cross as JSON text: `JSON.stringify` on the JS side
//! gives exactly what an HTTP client would send, and parsing happens on the
//! runtime's threads, not on the event loop. Gateway errors come back as
//! values (`Outcome.error`), which the TypeScript layer throws as classes.
//!
//! Work runs on napi-rs's tokio runtime: one multi-thread runtime per process,
//! created on first use and shared by every gateway. Every export catches
//! panics (`catch_unwind`), so a bug surfaces as a JS error, not an abort.

mod admin;
mod errors;
mod gateway;
mod server;
mod stream;
