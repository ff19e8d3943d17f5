//! Settings of the money capability: the providers' endpoints and secrets,
//! the trial credit, the bonus rule, fee rates and the operator's bank
//! requisites printed on its invoices. Secrets are redacted in `Debug`.

use std::fmt;

use tabys_core::money::Money;

/// The card gateway (CloudPayments / TipTop Pay protocol).
#[derive(Clone, Default, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CloudPaymentsConfig {
    /// The API root, e.g. `https://api.tiptoppay.kz`; empty: card payments are off.
    pub api_url: String,
    /// The site's Public ID: the API's user name.
    pub public_id: String,
    /// The API secret: the API's password and the key of `Content-HMAC`.
    pub api_secret: String,
}

impl fmt::Debug for CloudPaymentsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CloudPaymentsConfig")
            .field("api_url", &self.api_url)
            .field("public_id", &self.public_id)
            .field("api_secret", &"***")
            .finish()
    }
}

/// Kaspi's calls to us ("payments on Kaspi.kz"): Kaspi signs nothing, so the
/// merchant endpoint is protected by the credentials Kaspi is given (HTTP
/// Basic) and by the addresses Kaspi calls from.
#[derive(Clone, Default, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KaspiConfig {
    /// Empty: Kaspi payments are off.
    pub login: String,
    pub password: String,
    /// Addresses allowed to call; empty: any address (behind a proxy that filters).
    pub allowed_ips: Vec<String>,
    /// Where the payment registry (the provider's own records) is read from, for reconciliation.
    pub registry_url: String,
    /// A link shown next to the Kaspi instructions (the Kaspi app's page;
    /// in the demo, the local stand-in's).
    pub app_url: String,
}

impl fmt::Debug for KaspiConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KaspiConfig")
            .field("login", &self.login)
            .field("password", &"***")
            .field("allowed_ips", &self.allowed_ips)
            .field("registry_url", &self.registry_url)
            .field("app_url", &self.app_url)
            .finish()
    }
}

/// The seller's bank requisites, as printed on an invoice.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Requisites {
    pub legal_name: String,
    pub bin: String,
    pub address: String,
    pub iik: String,
    pub bik: String,
    pub bank: String,
    pub kbe: String,
}

/// Fee rates of the payment methods, in hundredths of a percent (basis
/// points): what the provider keeps. Passed to the payer where a product
/// says so (LZ 4.5).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Fees {
    pub card_bp: i64,
    pub kaspi_bp: i64,
    pub kaspi_red_bp: i64,
    pub installment_bp: i64,
}

impl Default for Fees {
    fn default() -> Self {
        Self {
            card_bp: 250,
            kaspi_bp: 0,
            kaspi_red_bp: 500,
            installment_bp: 1200,
        }
    }
}

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BillingConfig {
    pub cloudpayments: CloudPaymentsConfig,
    pub kaspi: KaspiConfig,
    /// Credited once per real person or company at sign-up (IS 2.1.15: 1000).
    pub trial_credit_tenge: i64,
    /// Spend the bonus balance before the main one (M-1); otherwise after.
    pub bonus_first: bool,
    pub fees: Fees,
    /// The operator's requisites for its own invoices.
    pub operator: Requisites,
    /// This installation's address as customers reach it, for return links.
    pub public_url: String,
    /// How long the gateway may take to answer, in milliseconds.
    pub provider_timeout_ms: u64,
}

impl Default for BillingConfig {
    fn default() -> Self {
        Self {
            cloudpayments: CloudPaymentsConfig::default(),
            kaspi: KaspiConfig::default(),
            trial_credit_tenge: 1000,
            bonus_first: false,
            fees: Fees::default(),
            operator: Requisites::default(),
            public_url: String::new(),
            provider_timeout_ms: 10_000,
        }
    }
}

impl BillingConfig {
    pub fn trial_credit(&self) -> Money {
        Money::from_tiyn(self.trial_credit_tenge.saturating_mul(100))
    }

    pub fn card_enabled(&self) -> bool {
        !self.cloudpayments.api_url.is_empty()
    }

    pub fn kaspi_enabled(&self) -> bool {
        !self.kaspi.login.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_not_printed() {
        let c = BillingConfig {
            cloudpayments: CloudPaymentsConfig {
                api_secret: "s3cret".into(),
                ..Default::default()
            },
            kaspi: KaspiConfig {
                password: "pa55".into(),
                ..Default::default()
            },
            ..Default::default()
        };
        let text = format!("{c:?}");
        assert!(!text.contains("s3cret") && !text.contains("pa55"));
    }
}
