//! The `mws-gateway` command line: `serve`, and the admin operations as
//! subcommands on the configured store, each one an `AdminOp` run as the admin
//! API runs it and printing the admin API's JSON.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use serde_json::{json, Value};

use crate::accounts::keys::KEY_PREFIX;
use crate::accounts::ops::AdminOp;
use crate::{Config, Error, Gateway, Result};

#[derive(Debug, Parser)]
#[command(
    name = "mws-gateway",
    version,
    about = "MWS gateway: Anthropic and OpenAI APIs in front of any upstream"
)]
pub struct Cli {
    /// TOML configuration file; without one, the built-in Dragon catalogue on the
    /// echo upstream with the sqlite store at mws-data/gateway.db.
    #[arg(long, global = true, env = "MWS_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API until SIGINT or SIGTERM, then drain streams in flight.
    /// Without a config, the first start creates a `demo` account with $25 and prints its key once.
    Serve {
        /// Address to listen on, overriding `server.listen` (port 0 picks a free port).
        #[arg(long)]
        listen: Option<SocketAddr>,
    },
    /// Accounts.
    Accounts {
        #[command(subcommand)]
        command: AccountsCommand,
    },
    /// Credits.
    Credits {
        #[command(subcommand)]
        command: CreditsCommand,
    },
    /// API keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// The usage ledger of an account, with totals.
    Usage {
        /// Account id (acct_...).
        account: String,
        /// Rows on one page (1 to 1000); the answer then carries `page`.
        #[arg(long)]
        limit: Option<usize>,
        /// Rows to skip before the page.
        #[arg(long)]
        offset: Option<usize>,
        /// Row order: asc (oldest first, the default) or desc.
        #[arg(long)]
        order: Option<String>,
        /// Only this profile's rows and sums.
        #[arg(long)]
        profile: Option<String>,
        /// Add sums by profile and a `daily` series of this many UTC days.
        #[arg(long)]
        days: Option<u32>,
    },
    /// The deployments of the profiles with their health: state (healthy,
    /// cooling_down, circuit_open, half_open), cooldown and circuit times.
    /// On a redis store, as the running gateways share it; else this
    /// process's own view (all healthy).
    Deployments,
}

#[derive(Debug, Subcommand)]
pub enum AccountsCommand {
    /// Create an account.
    Create {
        #[arg(long)]
        name: String,
    },
    /// Show an account.
    Show { account: String },
    /// List every account with its rate-limit tier.
    List,
}

#[derive(Debug, Subcommand)]
pub enum CreditsCommand {
    /// Add credits, in USD (up to 9 decimals).
    Add {
        account: String,
        #[arg(long)]
        usd: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key (shown once); needs $25 of credits or a plan.
    Create {
        account: String,
        #[arg(long, default_value = "default")]
        name: String,
        /// Requests per minute for this key, below the account's ceiling.
        #[arg(long)]
        rpm: Option<u32>,
        /// Tokens per minute for this key, below the account's ceiling.
        #[arg(long)]
        tpm: Option<u32>,
    },
    /// List an account's keys, without secrets.
    List { account: String },
    /// Revoke a key: from then on it gets 401.
    Revoke { key_id: String },
}

pub fn load_config(path: Option<&PathBuf>) -> Result<Config> {
    match path {
        Some(p) => Config::from_path(p),
        None => Ok(Config::default()),
    }
}

fn print(v: &Value) -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{v}").map_err(|e| Error::internal(format!("cannot write to stdout: {e}")))
}

/// An admin operation as a subcommand gives it: the id, the body and the
/// query-string pairs the admin API would get.
struct AdminCall {
    op: AdminOp,
    id: String,
    body: Value,
    query: Vec<(String, String)>,
}

impl AdminCall {
    fn new(op: AdminOp, id: String, body: Value) -> Self {
        AdminCall {
            op,
            id,
            body,
            query: Vec::new(),
        }
    }
}

impl AccountsCommand {
    fn admin_call(self) -> AdminCall {
        match self {
            AccountsCommand::Create { name } => AdminCall::new(
                AdminOp::CreateAccount,
                String::new(),
                json!({ "name": name }),
            ),
            AccountsCommand::Show { account } => {
                AdminCall::new(AdminOp::Account, account, Value::Null)
            }
            AccountsCommand::List => {
                AdminCall::new(AdminOp::ListAccounts, String::new(), Value::Null)
            }
        }
    }
}

impl CreditsCommand {
    fn admin_call(self) -> AdminCall {
        match self {
            CreditsCommand::Add { account, usd } => {
                AdminCall::new(AdminOp::AddCredits, account, json!({ "amount_usd": usd }))
            }
        }
    }
}

impl KeysCommand {
    fn admin_call(self) -> AdminCall {
        match self {
            KeysCommand::Create {
                account,
                name,
                rpm,
                tpm,
            } => AdminCall::new(
                AdminOp::CreateKey,
                account,
                json!({ "name": name, "rpm": rpm, "tpm": tpm }),
            ),
            KeysCommand::List { account } => {
                AdminCall::new(AdminOp::ListKeys, account, Value::Null)
            }
            KeysCommand::Revoke { key_id } => {
                AdminCall::new(AdminOp::RevokeKey, key_id, Value::Null)
            }
        }
    }
}

/// Runs the parsed command line to completion.
pub async fn run(cli: Cli) -> Result<()> {
    let config = load_config(cli.config.as_ref())?;
    let builtin = cli.config.is_none();
    let gateway = Gateway::new(config)?;
    let call = match cli.command {
        Command::Serve { listen } => return serve(&gateway, listen, builtin).await,
        Command::Accounts { command } => command.admin_call(),
        Command::Credits { command } => command.admin_call(),
        Command::Keys { command } => command.admin_call(),
        Command::Deployments => AdminCall::new(AdminOp::Deployments, String::new(), Value::Null),
        Command::Usage {
            account,
            limit,
            offset,
            order,
            profile,
            days,
        } => {
            // The admin API's query parameters, so both check them the same way.
            let query = [
                ("limit", limit.map(|v| v.to_string())),
                ("offset", offset.map(|v| v.to_string())),
                ("order", order),
                ("profile", profile),
                ("days", days.map(|v| v.to_string())),
            ]
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k.to_string(), v)))
            .collect();
            AdminCall {
                query,
                ..AdminCall::new(AdminOp::Usage, account, Value::Null)
            }
        }
    };
    let out = call
        .op
        .run_with_query(&gateway.admin(), &call.id, &call.body, &call.query)
        .await?;
    print(&out)
}

/// The first start on the built-in default creates the `demo` account with $25
/// and prints its key once; later starts reuse it.
async fn ensure_demo(gateway: &Gateway) -> Result<()> {
    let store = &gateway.state().store;
    if store.account_by_name("demo").await?.is_some() {
        return Ok(());
    }
    let admin = gateway.admin();
    let account = admin.create_account(&json!({"name": "demo"})).await?;
    let id = account["id"].as_str().unwrap_or_default().to_string();
    admin.add_credits(&id, &json!({"amount_usd": 25})).await?;
    let key = admin.create_key(&id, &json!({"name": "demo"})).await?;
    let secret = key["key"].as_str().unwrap_or(KEY_PREFIX);
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "Created the demo account {id} with $25 of credits. Its API key, shown only this once:\n\n    {secret}\n\nexport ANTHROPIC_API_KEY={secret} OPENAI_API_KEY={secret}\n"
    );
    Ok(())
}

async fn serve(gateway: &Gateway, listen: Option<SocketAddr>, builtin: bool) -> Result<()> {
    let addr = match listen {
        Some(a) => a,
        None => gateway
            .config()
            .server
            .listen
            .parse()
            .map_err(|e| Error::invalid(format!("server.listen: {e}")))?,
    };
    if builtin {
        ensure_demo(gateway).await?;
    }
    let handle = gateway.serve(addr).await?;
    // Scripts and tests read the bound address from this line, on stdout
    // whatever the log level, and in the log.
    let _ = writeln!(
        std::io::stdout().lock(),
        "mws-gateway listening on http://{}",
        handle.addr()
    );
    tracing::info!("mws-gateway listening on http://{}", handle.addr());
    shutdown_signal().await;
    tracing::info!("shutting down; draining requests in flight");
    handle.shutdown().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(args: &[&str]) -> AdminCall {
        let cli = Cli::try_parse_from(std::iter::once("mws-gateway").chain(args.iter().copied()))
            .unwrap();
        match cli.command {
            Command::Accounts { command } => command.admin_call(),
            Command::Credits { command } => command.admin_call(),
            Command::Keys { command } => command.admin_call(),
            other => panic!("not an admin subcommand: {other:?}"),
        }
    }

    #[test]
    fn subcommands_are_admin_operations_with_the_admin_api_body() {
        let c = call(&["accounts", "create", "--name", "team"]);
        assert_eq!(
            (c.op, c.body),
            (AdminOp::CreateAccount, json!({"name": "team"}))
        );
        let c = call(&["credits", "add", "acct_1", "--usd", "2.5"]);
        assert_eq!((c.op, c.id.as_str()), (AdminOp::AddCredits, "acct_1"));
        assert_eq!(c.body, json!({"amount_usd": "2.5"}));
        let c = call(&["keys", "create", "acct_1", "--rpm", "10"]);
        assert_eq!(c.op, AdminOp::CreateKey);
        assert_eq!(c.body, json!({"name": "default", "rpm": 10, "tpm": null}));
        assert_eq!(call(&["keys", "revoke", "key_1"]).op, AdminOp::RevokeKey);
        assert_eq!(call(&["accounts", "list"]).op, AdminOp::ListAccounts);
        let cli = Cli::try_parse_from(["mws-gateway", "deployments"]).unwrap();
        assert!(matches!(cli.command, Command::Deployments));
    }
}
