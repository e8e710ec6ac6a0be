//! The admin operations in-process, without the admin token (the host process
//! is trusted): the admin API's JSON in and out, errors in the OpenAI shape.

use mws_core::Shape;
use napi_derive::napi;

use crate::errors::{parse_body, Outcome};
use crate::gateway::NativeGateway;

#[napi(string_enum = "camelCase")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminOp {
    /// body `{"name"}`
    CreateAccount,
    /// `id`: the account
    Account,
    /// `id`: the account; body `{"amount_usd"}`
    AddCredits,
    /// `id`: the account; body `{"plan"}` (null clears it)
    SetPlan,
    /// `id`: the account; body `{"name", "rpm"?, "tpm"?}`
    CreateKey,
    /// `id`: the account
    ListKeys,
    /// `id`: the key; body `{"rpm"?, "tpm"?}` (null clears a limit)
    SetKeyThrottle,
    /// `id`: the key
    RevokeKey,
    /// `id`: the account
    Usage,
}

#[napi]
impl NativeGateway {
    /// One admin operation on `id` (an account or key id, unused by
    /// `createAccount`) with its JSON `body` (`{}` where it takes none).
    #[napi(catch_unwind)]
    pub async fn admin(&self, op: AdminOp, id: String, body: String) -> Outcome {
        let admin = self.inner.admin();
        let reply = match parse_body(&body) {
            Ok(body) => match op {
                AdminOp::CreateAccount => admin.create_account(&body).await,
                AdminOp::Account => admin.account(&id).await,
                AdminOp::AddCredits => admin.add_credits(&id, &body).await,
                AdminOp::SetPlan => admin.set_plan(&id, &body).await,
                AdminOp::CreateKey => admin.create_key(&id, &body).await,
                AdminOp::ListKeys => admin.list_keys(&id).await,
                AdminOp::SetKeyThrottle => admin.update_key(&id, &body).await,
                AdminOp::RevokeKey => admin.revoke_key(&id).await,
                AdminOp::Usage => admin.usage(&id).await,
            },
            Err(e) => Err(e),
        };
        Outcome::new(reply, Shape::OpenAi)
    }
}
