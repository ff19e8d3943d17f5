//! The money subcommands: the trial balance and reconciliation an operator
//! runs, and the providers' local stand-ins for a demo or a test.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tabys_billing::{ledger, reconcile};
use tabys_core::SystemClock;
use tabys_providers_fake::{FakeConfig, FakeProvider};
use tabys_store::Db;

use crate::config::Settings;

#[derive(clap::Subcommand)]
pub enum BillingTask {
    /// Print every account's debits, credits and balance, and whether the
    /// ledger balances and every cached balance equals its transfers (exit 1 if not).
    TrialBalance,
    /// Match every provider record to exactly one transfer and list what
    /// does not match (exit 1 if anything does not).
    Reconcile {
        /// Also look this many days back from today.
        #[arg(long, default_value_t = 3)]
        days: i64,
    },
}

pub async fn billing(db: &Db, settings: &Settings, task: BillingTask) -> anyhow::Result<()> {
    match task {
        BillingTask::TrialBalance => {
            let tb = ledger::trial_balance(db).await?;
            println!(
                "{:<6} {:<5} {:<26} {:<14} {:>18} {:>18} {:>18}",
                "acct", "book", "account", "holder", "debits", "credits", "balance"
            );
            for l in &tb.lines {
                println!(
                    "{:<6} {:<5} {:<26} {:<14} {:>18} {:>18} {:>18}",
                    l.account,
                    l.book,
                    l.code,
                    l.holder,
                    tabys_billing::providers::decimal(tabys_core::money::Money::from_tiyn(
                        l.debits
                    )),
                    tabys_billing::providers::decimal(tabys_core::money::Money::from_tiyn(
                        l.credits
                    )),
                    tabys_billing::providers::decimal(tabys_core::money::Money::from_tiyn(
                        l.balance()
                    )),
                );
            }
            println!(
                "total debits {} total credits {} cached balances wrong {} => {}",
                tabys_billing::providers::decimal(tabys_core::money::Money::from_tiyn(
                    tb.total_debits
                )),
                tabys_billing::providers::decimal(tabys_core::money::Money::from_tiyn(
                    tb.total_credits
                )),
                tb.cache_mismatches,
                if tb.balanced() {
                    "BALANCED"
                } else {
                    "NOT BALANCED"
                }
            );
            if !tb.balanced() {
                std::process::exit(1);
            }
            Ok(())
        }
        BillingTask::Reconcile { days } => {
            let window = reconcile::window(db, days).await?;
            let report = reconcile::run(db, &settings.billing, &window).await?;
            println!("matched {} provider records", report.matched);
            for line in &report.unmatched_at_provider {
                println!("at the provider, not in the ledger: {line}");
            }
            for line in &report.unmatched_in_ledger {
                println!("in the ledger, not at the provider: {line}");
            }
            println!(
                "{}",
                if report.is_clean() {
                    "RECONCILED"
                } else {
                    "NOT RECONCILED"
                }
            );
            if !report.is_clean() {
                std::process::exit(1);
            }
            Ok(())
        }
    }
}

#[derive(clap::Args)]
pub struct FakeProviderArgs {
    /// Where the stand-ins listen.
    #[arg(long, default_value = "127.0.0.1:8090")]
    pub listen: SocketAddr,
    /// The Tabys server they send notifications and Kaspi calls to.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub merchant: String,
    /// The gateway's API secret (the key of `Content-HMAC`).
    #[arg(
        long,
        env = "TABYS_CLOUDPAYMENTS_SECRET",
        default_value = "test-api-secret"
    )]
    pub secret: String,
}

/// Serves the stand-ins until Ctrl-C, printing the settings Tabys needs.
pub async fn fake_provider(args: FakeProviderArgs) -> anyhow::Result<()> {
    let cfg = FakeConfig {
        merchant: args.merchant.clone(),
        api_secret: args.secret,
        ..FakeConfig::default()
    };
    let fake = FakeProvider::start(args.listen, cfg.clone(), Arc::new(SystemClock))
        .await
        .context("starting the fake providers")?;
    println!(
        "Card gateway (CloudPayments protocol) and Kaspi stand-ins on {}",
        fake.base()
    );
    println!("Notifications and Kaspi calls go to {}", args.merchant);
    println!("Start Tabys with:");
    println!(
        "  TABYS_CLOUDPAYMENTS_URL={} TABYS_CLOUDPAYMENTS_PUBLIC_ID={} TABYS_CLOUDPAYMENTS_SECRET=…",
        fake.base(),
        cfg.public_id
    );
    println!(
        "  TABYS_KASPI_LOGIN={} TABYS_KASPI_PASSWORD=… TABYS_KASPI_REGISTRY_URL={}/kaspi/registry",
        cfg.kaspi_login,
        fake.base()
    );
    tokio::signal::ctrl_c().await?;
    Ok(())
}

/// For `tabys demo`: when no card gateway is configured, run the stand-ins
/// in this process and point the settings at them, so that paying works on
/// a fresh machine.
pub async fn demo_providers(settings: &mut Settings) -> anyhow::Result<Option<FakeProvider>> {
    if settings.billing.card_enabled() {
        return Ok(None);
    }
    let merchant = format!("http://{}", settings.listen);
    let cfg = FakeConfig {
        merchant: merchant.clone(),
        ..FakeConfig::default()
    };
    let fake =
        FakeProvider::start("127.0.0.1:0".parse()?, cfg.clone(), Arc::new(SystemClock)).await?;
    let b = &mut settings.billing;
    b.cloudpayments.api_url = fake.base().to_string();
    b.cloudpayments.public_id = cfg.public_id;
    b.cloudpayments.api_secret = cfg.api_secret;
    b.kaspi.login = cfg.kaspi_login;
    b.kaspi.password = cfg.kaspi_password;
    b.kaspi.registry_url = format!("{}/kaspi/registry", fake.base());
    b.kaspi.app_url = format!("{}/kaspi", fake.base());
    b.public_url = merchant;
    if b.operator.legal_name.is_empty() {
        b.operator = tabys_billing::config::Requisites {
            legal_name: "ТОО «Tabys Demo Operator»".into(),
            bin: "180540001239".into(),
            address: "г. Алматы, пр. Абая, 1".into(),
            iik: "KZ86125KZT5004100100".into(),
            bik: "HSBKKZKX".into(),
            bank: "АО «Народный Банк Казахстана»".into(),
            kbe: "17".into(),
        };
    }
    Ok(Some(fake))
}
