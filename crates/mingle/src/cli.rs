//! The `mingle` command line.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use mingle_service::models::AccountStatus;
use mingle_service::Services;

use crate::config::{GlobalArgs, ServeArgs, WorkerArgs};
use crate::provision::{self, Output};

#[derive(Debug, Parser)]
#[command(name = "mingle", version, about = "mingle: the self-hostable matchmaking engine of the Partner API")]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Try mingle first: a temporary database, a sample event, enrichment and matching,
    /// the best introductions, then the API served with a token.
    Demo(crate::demo::DemoArgs),
    /// Serve the API (with an embedded worker unless --no-worker).
    Serve(ServeArgs),
    /// Run a worker alone: it executes queued runs (many may share one database).
    Worker(WorkerArgs),
    /// Manage orgs.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Manage service accounts and their tokens.
    #[command(subcommand, name = "service-account")]
    ServiceAccount(AccountCommand),
    /// Inspect and redeliver webhook deliveries.
    #[command(subcommand)]
    Webhooks(WebhooksCommand),
    /// Copy the database, consistently, while mingle runs (SQLite: `VACUUM INTO` a new
    /// file; PostgreSQL: use `pg_dump`).
    Backup {
        /// The file to write; it must not exist.
        path: std::path::PathBuf,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum WebhooksCommand {
    /// An org's newest deliveries, each with its last attempt.
    List {
        #[arg(long)]
        org: String,
        /// Only deliveries that failed for good.
        #[arg(long)]
        failed: bool,
        /// How many to show.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(i64).range(1..=1000))]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
    /// Send a delivery again now, with the same webhook-id.
    Redeliver {
        delivery_id: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Create an org; prints its org_id and webhook secret.
    Create {
        name: String,
        /// Print JSON for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Give an org a new webhook secret; the old one keeps signing for 24 hours.
    #[command(name = "rotate-webhook-secret")]
    RotateWebhookSecret {
        org_id: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Create a service account and its token (shown once).
    Create {
        #[arg(long)]
        org: String,
        /// Comma-separated: partner:read, partner:write.
        #[arg(long)]
        scopes: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Disable an account: its requests get 401 ACCOUNT_DISABLED until enabled.
    Disable {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Enable a disabled account.
    Enable {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Revoke an account for good: its tokens stop working (401 UNAUTHORIZED).
    Revoke {
        id: String,
        #[arg(long)]
        json: bool,
    },
}

pub fn run() -> ExitCode {
    let cli = Cli::parse();
    // The demo prints for people: its request logs would bury the output, so it logs
    // warnings only unless MINGLE_LOG or --log asks for more.
    let quiet = matches!(cli.command, Command::Demo(_)) && cli.global.log == "info";
    crate::logging::init(if quiet { "warn" } else { &cli.global.log }, cli.global.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("mingle: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(execute(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mingle: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn execute(cli: Cli) -> anyhow::Result<()> {
    match &cli.command {
        // The demo keeps its data in a temporary database of its own.
        Command::Demo(args) => return crate::demo::run(args).await,
        Command::Serve(args) => args.validate().map_err(anyhow::Error::msg)?,
        Command::Worker(args) => args.validate().map_err(anyhow::Error::msg)?,
        _ => {}
    }
    let store = mingle_store::connect(&cli.global.database_url)
        .await
        .map_err(|e| anyhow::anyhow!("cannot open the database {}: {e}", cli.global.database_url))?;
    let services = Services::new(store.clone());
    let (output, json) = match cli.command {
        Command::Demo(_) => unreachable!("handled above"),
        Command::Serve(args) => return crate::serve::run(store, &args).await,
        Command::Worker(args) => return crate::serve::run_worker(store, &args).await,
        Command::Org(OrgCommand::Create { name, json }) => (provision::create_org(&services, &name).await, json),
        Command::Org(OrgCommand::RotateWebhookSecret { org_id, json }) => {
            (provision::rotate_webhook_secret(&services, &org_id).await, json)
        }
        Command::Webhooks(WebhooksCommand::List { org, failed, limit, json }) => {
            (provision::list_deliveries(&services, &org, failed, limit).await, json)
        }
        Command::Webhooks(WebhooksCommand::Redeliver { delivery_id, json }) => {
            (provision::redeliver(&services, &delivery_id).await, json)
        }
        Command::Backup { path, json } => (provision::backup(&services, &path).await, json),
        Command::ServiceAccount(cmd) => match cmd {
            AccountCommand::Create { org, scopes, name, json } => {
                (provision::create_service_account(&services, &org, &scopes, name.as_deref()).await, json)
            }
            AccountCommand::Disable { id, json } => {
                (provision::set_status(&services, &id, AccountStatus::Disabled).await, json)
            }
            AccountCommand::Enable { id, json } => {
                (provision::set_status(&services, &id, AccountStatus::Active).await, json)
            }
            AccountCommand::Revoke { id, json } => {
                (provision::set_status(&services, &id, AccountStatus::Revoked).await, json)
            }
        },
    };
    let Output { json: doc, text } = output.map_err(|e| anyhow::anyhow!("{} ({})", e, e.code()))?;
    if json {
        println!("{doc}");
    } else {
        println!("{text}");
    }
    Ok(())
}
