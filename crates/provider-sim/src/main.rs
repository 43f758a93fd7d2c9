//! `provider-sim`: run a provider simulator on 127.0.0.1 and print its URL.
#![forbid(unsafe_code)]

use clap::{Parser, Subcommand};
use provider_sim::{NeteaseSim, NeteaseSimConfig, TencentSim, TencentSimConfig};

#[derive(Parser, Debug)]
#[command(
    version,
    about = "Local simulators of the Tencent Cloud Chat and NetEase Yunxin group APIs"
)]
struct Cli {
    #[command(subcommand)]
    provider: Provider,
}

#[derive(Subcommand, Debug)]
enum Provider {
    /// Tencent Cloud Chat group REST API.
    Tencent {
        /// Port on 127.0.0.1 (0 = any free port).
        #[arg(long, default_value_t = 0)]
        port: u16,
        #[arg(long, default_value_t = 1_400_000_000)]
        sdk_app_id: u64,
        /// Secret key (default: the sample key of the official signer repos).
        #[arg(long, env = "PROVIDER_SIM_TENCENT_SECRET_KEY", hide_env_values = true)]
        secret_key: Option<String>,
        /// App admin identifiers.
        #[arg(long = "admin", default_values_t = vec!["administrator".to_string()])]
        admins: Vec<String>,
        /// Existing accounts (repeat); omitted = every account exists.
        #[arg(long = "account")]
        accounts: Vec<String>,
        #[arg(long, default_value_t = 200)]
        rate_limit: u32,
    },
    /// NetEase Yunxin v2 / v2.1 team API.
    Netease {
        #[arg(long, default_value_t = 0)]
        port: u16,
        #[arg(long, default_value = "sim-app-key")]
        app_key: String,
        #[arg(long, env = "PROVIDER_SIM_NETEASE_APP_SECRET", hide_env_values = true)]
        app_secret: Option<String>,
        #[arg(long = "account")]
        accounts: Vec<String>,
        #[arg(long, default_value_t = 100)]
        rate_limit: u32,
        #[arg(long, default_value_t = 300)]
        curtime_window_secs: i64,
    },
}

fn accounts(list: Vec<String>) -> Option<Vec<String>> {
    (!list.is_empty()).then_some(list)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().provider {
        Provider::Tencent {
            port,
            sdk_app_id,
            secret_key,
            admins,
            accounts: list,
            rate_limit,
        } => {
            let defaults = TencentSimConfig::default();
            let config = TencentSimConfig {
                sdk_app_id,
                secret_key: secret_key.unwrap_or(defaults.secret_key),
                admins,
                accounts: accounts(list),
                rate_limit_per_api: rate_limit,
                ..TencentSimConfig::default()
            };
            let sim = TencentSim::start_on_port(config, port).await?;
            println!("{}", sim.base_url());
            tokio::signal::ctrl_c().await?;
            sim.shutdown().await;
        }
        Provider::Netease {
            port,
            app_key,
            app_secret,
            accounts: list,
            rate_limit,
            curtime_window_secs,
        } => {
            let defaults = NeteaseSimConfig::default();
            let config = NeteaseSimConfig {
                app_key,
                app_secret: app_secret.unwrap_or(defaults.app_secret),
                accounts: accounts(list),
                rate_limit_per_api: rate_limit,
                curtime_window_secs,
            };
            let sim = NeteaseSim::start_on_port(config, port).await?;
            println!("{}", sim.base_url());
            tokio::signal::ctrl_c().await?;
            sim.shutdown().await;
        }
    }
    Ok(())
}
