//! The admin operations as one list. Each operation knows its name on the
//! in-process surfaces (Python, Node, C), what it takes, the HTTP route the
//! admin API serves it on, and how it runs; the admin API's routes, the
//! bindings and the command line all go through `AdminOp`, so an operation is
//! added here once and every surface sees it.

use http::Method;
use serde_json::Value;

use super::admin::Admin;
use super::usage::UsageQuery;
use crate::Result;

/// One admin operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AdminOp {
    /// body `{"name"}`: the new account.
    CreateAccount,
    /// Every account with its rate-limit tier.
    ListAccounts,
    /// id: the account.
    Account,
    /// id: the account; body `{"amount_usd"}`.
    AddCredits,
    /// id: the account; body `{"plan"}` (`null` clears it).
    SetPlan,
    /// id: the account; body `{"name"?, "rpm"?, "tpm"?}`: the key with its secret.
    CreateKey,
    /// id: the account: its keys, without secrets.
    ListKeys,
    /// id: the key; body `{"rpm"?, "tpm"?}` (`null` clears a limit).
    SetKeyThrottle,
    /// id: the key.
    RevokeKey,
    /// id: the account; the query (`limit`, `offset`, `order`, `profile`,
    /// `by`, `days`) narrows the ledger: the whole of it without one.
    Usage,
    /// Every deployment of the profiles with its health.
    Deployments,
}

/// What the id an operation takes names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdOf {
    Account,
    Key,
}

impl AdminOp {
    /// Every operation, in the order the admin API lists them.
    pub const ALL: [AdminOp; 11] = [
        AdminOp::CreateAccount,
        AdminOp::ListAccounts,
        AdminOp::Account,
        AdminOp::AddCredits,
        AdminOp::SetPlan,
        AdminOp::CreateKey,
        AdminOp::ListKeys,
        AdminOp::SetKeyThrottle,
        AdminOp::RevokeKey,
        AdminOp::Usage,
        AdminOp::Deployments,
    ];

    /// The name the in-process surfaces call it by (snake_case, as the Python
    /// methods are named).
    pub fn name(self) -> &'static str {
        match self {
            AdminOp::CreateAccount => "create_account",
            AdminOp::ListAccounts => "list_accounts",
            AdminOp::Account => "account",
            AdminOp::AddCredits => "add_credits",
            AdminOp::SetPlan => "set_plan",
            AdminOp::CreateKey => "create_key",
            AdminOp::ListKeys => "list_keys",
            AdminOp::SetKeyThrottle => "set_key_throttle",
            AdminOp::RevokeKey => "revoke_key",
            AdminOp::Usage => "usage",
            AdminOp::Deployments => "deployments",
        }
    }

    /// The operation called `name`, if there is one.
    pub fn from_name(name: &str) -> Option<Self> {
        AdminOp::ALL.into_iter().find(|op| op.name() == name)
    }

    /// What its id names; `None` when it takes no id.
    pub fn id(self) -> Option<IdOf> {
        match self {
            AdminOp::CreateAccount | AdminOp::ListAccounts | AdminOp::Deployments => None,
            AdminOp::Account
            | AdminOp::AddCredits
            | AdminOp::SetPlan
            | AdminOp::CreateKey
            | AdminOp::ListKeys
            | AdminOp::Usage => Some(IdOf::Account),
            AdminOp::SetKeyThrottle | AdminOp::RevokeKey => Some(IdOf::Key),
        }
    }

    /// Whether it reads a JSON object body.
    pub fn takes_body(self) -> bool {
        match self {
            AdminOp::CreateAccount
            | AdminOp::AddCredits
            | AdminOp::SetPlan
            | AdminOp::CreateKey
            | AdminOp::SetKeyThrottle => true,
            AdminOp::ListAccounts
            | AdminOp::Account
            | AdminOp::ListKeys
            | AdminOp::RevokeKey
            | AdminOp::Usage
            | AdminOp::Deployments => false,
        }
    }

    /// Whether it reads query-string pairs (over HTTP; the command line builds
    /// the same pairs from its options).
    pub fn takes_query(self) -> bool {
        matches!(self, AdminOp::Usage)
    }

    /// The HTTP method of its admin API route.
    pub fn method(self) -> Method {
        match self {
            AdminOp::CreateAccount | AdminOp::AddCredits | AdminOp::CreateKey => Method::POST,
            AdminOp::ListAccounts
            | AdminOp::Account
            | AdminOp::ListKeys
            | AdminOp::Usage
            | AdminOp::Deployments => Method::GET,
            AdminOp::SetPlan => Method::PUT,
            AdminOp::SetKeyThrottle => Method::PATCH,
            AdminOp::RevokeKey => Method::DELETE,
        }
    }

    /// The path template of its admin API route; `{id}` is the id it takes.
    pub fn path(self) -> &'static str {
        match self {
            AdminOp::CreateAccount | AdminOp::ListAccounts => "/admin/accounts",
            AdminOp::Account => "/admin/accounts/{id}",
            AdminOp::AddCredits => "/admin/accounts/{id}/credits",
            AdminOp::SetPlan => "/admin/accounts/{id}/plan",
            AdminOp::CreateKey | AdminOp::ListKeys => "/admin/accounts/{id}/keys",
            AdminOp::SetKeyThrottle | AdminOp::RevokeKey => "/admin/keys/{id}",
            AdminOp::Usage => "/admin/accounts/{id}/usage",
            AdminOp::Deployments => "/admin/deployments",
        }
    }

    /// The HTTP status of its success: 201 when it creates something.
    pub fn success_status(self) -> u16 {
        match self {
            AdminOp::CreateAccount | AdminOp::CreateKey => 201,
            AdminOp::ListAccounts
            | AdminOp::Account
            | AdminOp::AddCredits
            | AdminOp::SetPlan
            | AdminOp::ListKeys
            | AdminOp::SetKeyThrottle
            | AdminOp::RevokeKey
            | AdminOp::Usage
            | AdminOp::Deployments => 200,
        }
    }

    /// Runs it: `id` names the account or key (ignored by the operations that
    /// take none), `body` is the admin API's body (ignored by those that take
    /// none). The answer is the admin API's JSON.
    pub async fn run(self, admin: &Admin<'_>, id: &str, body: &Value) -> Result<Value> {
        self.run_with_query(admin, id, body, &[]).await
    }

    /// `run` with the query-string pairs of the HTTP request (or the command
    /// line's equivalent), for the operations that read them.
    pub async fn run_with_query(
        self,
        admin: &Admin<'_>,
        id: &str,
        body: &Value,
        query: &[(String, String)],
    ) -> Result<Value> {
        match self {
            AdminOp::CreateAccount => admin.create_account(body).await,
            AdminOp::ListAccounts => admin.list_accounts().await,
            AdminOp::Account => admin.account(id).await,
            AdminOp::AddCredits => admin.add_credits(id, body).await,
            AdminOp::SetPlan => admin.set_plan(id, body).await,
            AdminOp::CreateKey => admin.create_key(id, body).await,
            AdminOp::ListKeys => admin.list_keys(id).await,
            AdminOp::SetKeyThrottle => admin.update_key(id, body).await,
            AdminOp::RevokeKey => admin.revoke_key(id).await,
            AdminOp::Usage => {
                let query = UsageQuery::from_pairs(query)?;
                admin.usage_report(id, &query).await
            }
            AdminOp::Deployments => admin.deployments().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_distinct_and_found_again() {
        for op in AdminOp::ALL {
            assert_eq!(AdminOp::from_name(op.name()), Some(op));
        }
        assert_eq!(AdminOp::from_name("drop_everything"), None);
        let mut names: Vec<&str> = AdminOp::ALL.iter().map(|op| op.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), AdminOp::ALL.len());
    }

    #[test]
    fn routes_are_distinct_and_take_what_the_operation_takes() {
        let mut routes: Vec<(Method, &str)> = AdminOp::ALL
            .iter()
            .map(|op| (op.method(), op.path()))
            .collect();
        routes.sort_by(|a, b| (a.0.as_str(), a.1).cmp(&(b.0.as_str(), b.1)));
        routes.dedup();
        assert_eq!(routes.len(), AdminOp::ALL.len());
        for op in AdminOp::ALL {
            assert_eq!(op.path().contains("{id}"), op.id().is_some(), "{op:?}");
            let reads_body = op.method() != Method::GET && op.method() != Method::DELETE;
            assert_eq!(op.takes_body(), reads_body, "{op:?}");
        }
    }
}
