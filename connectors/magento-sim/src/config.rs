//! The simulator's configuration and its builder.

use crate::faults::Faults;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

/// Which Magento line to imitate where versions differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum ApiVersion {
    /// Magento 2.3: a page past the end repeats the last page; no MSI source-item routes.
    #[serde(rename = "2.3")]
    V2_3,
    /// Magento 2.4 (the default): a page past the end is empty; MSI source items exist.
    #[default]
    #[serde(rename = "2.4")]
    V2_4,
}

impl ApiVersion {
    /// `"2.3"` or `"2.4"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiVersion::V2_3 => "2.3",
            ApiVersion::V2_4 => "2.4",
        }
    }
}

impl FromStr for ApiVersion {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "2.3" | "2.3.x" | "23" => Ok(ApiVersion::V2_3),
            "2.4" | "2.4.x" | "24" => Ok(ApiVersion::V2_4),
            other => Err(format!(
                "unsupported Magento version {other:?} (use 2.3 or 2.4)"
            )),
        }
    }
}

/// Everything a simulator is started with.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Seed of the generated data: the same seed gives the same records.
    pub seed: u64,
    /// Number of generated customers.
    pub customers: u32,
    /// Number of generated products (configurable parents and their children included).
    pub products: u32,
    /// Number of generated orders.
    pub orders: u32,
    /// Imitated version.
    pub version: ApiVersion,
    /// A fixed integration token accepted as `Authorization: Bearer <token>`.
    pub token: Option<String>,
    /// Admin user name for `POST /V1/integration/admin/token`.
    pub admin_user: String,
    /// Admin password for `POST /V1/integration/admin/token`.
    pub admin_password: String,
    /// Lifetime of issued admin tokens (Magento's default is 4 hours).
    pub admin_token_ttl: Duration,
    /// Faults active from the start.
    pub faults: Faults,
    /// Address to bind; port 0 picks a free one.
    pub listen: SocketAddr,
    /// How many recent requests the request log keeps.
    pub request_log_capacity: usize,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 42,
            customers: 100,
            products: 50,
            orders: 200,
            version: ApiVersion::V2_4,
            token: None,
            admin_user: "admin".to_string(),
            admin_password: "admin123".to_string(),
            admin_token_ttl: Duration::from_secs(4 * 3600),
            faults: Faults::none(),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            request_log_capacity: 10_000,
        }
    }
}

/// Builds a [`SimConfig`] and starts a [`crate::Simulator`].
///
/// ```no_run
/// # async fn demo() -> Result<(), magento_sim::SimError> {
/// let sim = magento_sim::Simulator::builder()
///     .seed(7)
///     .customers(10)
///     .token("secret-token")
///     .start()
///     .await?;
/// println!("{}", sim.base_url());
/// sim.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
pub struct SimBuilder {
    config: SimConfig,
}

impl SimBuilder {
    /// A builder with the defaults of [`SimConfig::default`].
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder starting from `config`.
    pub fn from_config(config: SimConfig) -> Self {
        SimBuilder { config }
    }

    /// Sets the data seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.config.seed = seed;
        self
    }

    /// Sets the number of generated customers.
    pub fn customers(mut self, n: u32) -> Self {
        self.config.customers = n;
        self
    }

    /// Sets the number of generated products.
    pub fn products(mut self, n: u32) -> Self {
        self.config.products = n;
        self
    }

    /// Sets the number of generated orders.
    pub fn orders(mut self, n: u32) -> Self {
        self.config.orders = n;
        self
    }

    /// Sets the imitated version.
    pub fn version(mut self, v: ApiVersion) -> Self {
        self.config.version = v;
        self
    }

    /// Accepts a fixed integration bearer token.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.config.token = Some(token.into());
        self
    }

    /// Sets the admin credentials of the admin token endpoint.
    pub fn admin_credentials(
        mut self,
        user: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        self.config.admin_user = user.into();
        self.config.admin_password = password.into();
        self
    }

    /// Sets the lifetime of issued admin tokens.
    pub fn admin_token_ttl(mut self, ttl: Duration) -> Self {
        self.config.admin_token_ttl = ttl;
        self
    }

    /// Sets the faults active from the start.
    pub fn faults(mut self, faults: Faults) -> Self {
        self.config.faults = faults;
        self
    }

    /// Sets the listen address (default `127.0.0.1:0`).
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.config.listen = addr;
        self
    }

    /// Sets how many recent requests the request log keeps.
    pub fn request_log_capacity(mut self, n: usize) -> Self {
        self.config.request_log_capacity = n;
        self
    }

    /// The configuration built so far.
    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// Generates the data, binds the listener and serves in the background.
    pub async fn start(self) -> Result<crate::Simulator, crate::SimError> {
        crate::server::Simulator::start(self.config).await
    }
}
