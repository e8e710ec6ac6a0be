//! The admin operations in-process, without the admin token (the host process
//! is trusted): the admin API's JSON in and out, errors in the OpenAI shape.
//! The operations are the core's `AdminOp`s, named as `AdminOp::name` gives.

use mws_core::accounts::ops::AdminOp;
use mws_core::Shape;
use napi::Status;
use napi_derive::napi;

use crate::errors::{parse_body, Outcome};
use crate::gateway::NativeGateway;

#[napi]
impl NativeGateway {
    /// One admin operation, named as the core names it (`create_account`,
    /// `add_credits`, `set_key_throttle`, ...), on `id` (an account or key id,
    /// unused by the operations that take none) with its JSON `body` (`{}`
    /// where it takes none). An unknown name throws.
    #[napi(catch_unwind)]
    pub async fn admin(&self, op: String, id: String, body: String) -> napi::Result<Outcome> {
        let op = AdminOp::from_name(&op).ok_or_else(|| {
            napi::Error::new(
                Status::InvalidArg,
                format!("unknown admin operation {op:?}"),
            )
        })?;
        let reply = match parse_body(&body) {
            Ok(body) => op.run(&self.inner.admin(), &id, &body).await,
            Err(e) => Err(e),
        };
        Ok(Outcome::new(reply, Shape::OpenAi))
    }
}
