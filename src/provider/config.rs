//! Provider app configuration and its validation, done before any call is made.

use std::fmt;
use std::net::Ipv4Addr;
use std::time::Duration;

use super::secret::Secret;
use super::AppIdentity;
use super::ProviderKind;

/// A configuration or request value that cannot work. `field` names the offending
/// field (e.g. `tencent.region`, `spec.name`); `message` says what is allowed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid {field}: {message}")]
pub struct ConfigError {
    pub field: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Client-side request budget, per provider API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateConfig {
    /// Sustained calls per second for each API.
    pub requests_per_second: u32,
    /// Calls allowed at once above the sustained rate.
    pub burst: u32,
}

impl RateConfig {
    /// Tencent's documented default: 200 calls/s per API and SDKAppID, evenly spaced.
    pub const TENCENT_DEFAULT: RateConfig = RateConfig {
        requests_per_second: 200,
        burst: 1,
    };
    /// NetEase's standard-plan default: 100 calls/s per API and app, evenly spaced.
    pub const NETEASE_DEFAULT: RateConfig = RateConfig {
        requests_per_second: 100,
        burst: 1,
    };

    pub fn default_for(kind: ProviderKind) -> RateConfig {
        match kind {
            ProviderKind::Tencent => RateConfig::TENCENT_DEFAULT,
            ProviderKind::NetEase => RateConfig::NETEASE_DEFAULT,
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.requests_per_second == 0 || self.requests_per_second > 10_000 {
            return Err(ConfigError::new(
                "rateLimit.requestsPerSecond",
                "must be between 1 and 10000",
            ));
        }
        if self.burst == 0 || self.burst > 10_000 {
            return Err(ConfigError::new(
                "rateLimit.burst",
                "must be between 1 and 10000",
            ));
        }
        Ok(())
    }
}

/// Tencent Cloud Chat data centers (the primary REST domain of each).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TencentRegion {
    China,
    Singapore,
    Seoul,
    Tokyo,
    Frankfurt,
    SiliconValley,
    Jakarta,
}

impl TencentRegion {
    pub const ALLOWED: &'static str =
        "china, singapore, seoul, tokyo, frankfurt, siliconvalley, jakarta";

    pub fn host(self) -> &'static str {
        match self {
            TencentRegion::China => "console.tim.qq.com",
            TencentRegion::Singapore => "adminapisgp.im.qcloud.com",
            TencentRegion::Seoul => "adminapikr.im.qcloud.com",
            TencentRegion::Tokyo => "adminapijpn.im.qcloud.com",
            TencentRegion::Frankfurt => "adminapiger.im.qcloud.com",
            TencentRegion::SiliconValley => "adminapiusa.im.qcloud.com",
            TencentRegion::Jakarta => "adminapiidn.im.qcloud.com",
        }
    }

    /// Parses a region name, case-insensitive, ignoring `-`, `_` and spaces.
    pub fn parse(name: &str) -> Result<TencentRegion, ConfigError> {
        let norm: String = name
            .chars()
            .filter(|c| !matches!(c, '-' | '_' | ' '))
            .collect::<String>()
            .to_ascii_lowercase();
        Ok(match norm.as_str() {
            "china" => TencentRegion::China,
            "singapore" => TencentRegion::Singapore,
            "seoul" => TencentRegion::Seoul,
            "tokyo" => TencentRegion::Tokyo,
            "frankfurt" => TencentRegion::Frankfurt,
            "siliconvalley" => TencentRegion::SiliconValley,
            "jakarta" => TencentRegion::Jakarta,
            _ => {
                return Err(ConfigError::new(
                    "tencent.region",
                    format!(
                        "unknown region {name:?}; allowed: {}",
                        TencentRegion::ALLOWED
                    ),
                ))
            }
        })
    }
}

/// Where Tencent calls go: a region's primary domain or an explicit URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TencentEndpoint {
    Region(TencentRegion),
    Url(String),
}

/// NetEase v2 REST hosts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NeteaseRegion {
    China,
    Singapore,
}

impl NeteaseRegion {
    pub const ALLOWED: &'static str = "china, singapore";

    pub fn base_url(self) -> &'static str {
        match self {
            NeteaseRegion::China => "https://open.yunxinapi.com",
            NeteaseRegion::Singapore => "https://open-sg.yunxinapi.com",
        }
    }

    pub fn parse(name: &str) -> Result<NeteaseRegion, ConfigError> {
        match name.trim().to_ascii_lowercase().as_str() {
            "china" => Ok(NeteaseRegion::China),
            "singapore" => Ok(NeteaseRegion::Singapore),
            _ => Err(ConfigError::new(
                "netease.region",
                format!(
                    "unknown region {name:?}; allowed: {}",
                    NeteaseRegion::ALLOWED
                ),
            )),
        }
    }
}

/// Where NetEase calls go. Defaults to the China host `https://open.yunxinapi.com`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NeteaseEndpoint {
    Region(NeteaseRegion),
    Url(String),
}

/// One Tencent Cloud Chat app (SDKAppID).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TencentConfig {
    pub sdk_app_id: u64,
    /// The App admin account calls are made as. Default `administrator`.
    pub identifier: String,
    pub endpoint: TencentEndpoint,
    pub secret_key: Secret,
    pub rate: RateConfig,
    /// Per-call timeout. Default 5 s.
    pub timeout: Duration,
    /// Lifetime of each generated UserSig. Default 24 h.
    pub usersig_ttl: Duration,
    /// An AppDefinedData key enabled for the app, reserved for the managing object's
    /// marker. `None`: Tencent groups carry no marker.
    pub marker_key: Option<String>,
}

impl TencentConfig {
    /// A configuration with the documented defaults (China region, `administrator`).
    pub fn new(sdk_app_id: u64, secret_key: Secret) -> TencentConfig {
        TencentConfig {
            sdk_app_id,
            identifier: "administrator".to_string(),
            endpoint: TencentEndpoint::Region(TencentRegion::China),
            secret_key,
            rate: RateConfig::TENCENT_DEFAULT,
            timeout: Duration::from_secs(5),
            usersig_ttl: Duration::from_secs(24 * 3600),
            marker_key: None,
        }
    }

    pub fn app(&self) -> AppIdentity {
        AppIdentity {
            kind: ProviderKind::Tencent,
            app_id: self.sdk_app_id.to_string(),
            host: endpoint_host(&self.base_url()),
        }
    }

    /// The base URL (`scheme://host[:port]`, no trailing slash).
    pub fn base_url(&self) -> String {
        match &self.endpoint {
            TencentEndpoint::Region(region) => format!("https://{}", region.host()),
            TencentEndpoint::Url(url) => url.trim_end_matches('/').to_string(),
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.sdk_app_id == 0 {
            return Err(ConfigError::new(
                "tencent.sdkAppId",
                "must be a positive SDKAppID, not 0",
            ));
        }
        if self.identifier.trim().is_empty() {
            return Err(ConfigError::new(
                "tencent.identifier",
                "must name an App admin account (e.g. administrator), not be empty",
            ));
        }
        if self.secret_key.is_empty() {
            return Err(ConfigError::new("tencent.secretKey", "must not be empty"));
        }
        if let TencentEndpoint::Url(url) = &self.endpoint {
            validate_endpoint("tencent.endpoint", url)?;
        }
        validate_durations("tencent", self.timeout, Some(self.usersig_ttl))?;
        if let Some(key) = &self.marker_key {
            if key.is_empty() || key.len() > 16 {
                return Err(ConfigError::new(
                    "tencent.ownerDataKey",
                    format!(
                        "{key:?} is {} bytes; an AppDefinedData key is 1 to 16 bytes",
                        key.len()
                    ),
                ));
            }
        }
        self.rate.validate()
    }
}

/// One NetEase Yunxin app (AppKey).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NeteaseConfig {
    pub app_key: String,
    pub app_secret: Secret,
    pub endpoint: NeteaseEndpoint,
    pub rate: RateConfig,
    /// Per-call timeout. Default 5 s.
    pub timeout: Duration,
}

impl NeteaseConfig {
    pub fn new(app_key: impl Into<String>, app_secret: Secret) -> NeteaseConfig {
        NeteaseConfig {
            app_key: app_key.into(),
            app_secret,
            endpoint: NeteaseEndpoint::Region(NeteaseRegion::China),
            rate: RateConfig::NETEASE_DEFAULT,
            timeout: Duration::from_secs(5),
        }
    }

    pub fn app(&self) -> AppIdentity {
        AppIdentity {
            kind: ProviderKind::NetEase,
            app_id: self.app_key.clone(),
            host: endpoint_host(&self.base_url()),
        }
    }

    pub fn base_url(&self) -> String {
        match &self.endpoint {
            NeteaseEndpoint::Region(region) => region.base_url().to_string(),
            NeteaseEndpoint::Url(url) => url.trim_end_matches('/').to_string(),
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.app_key.trim().is_empty() {
            return Err(ConfigError::new("netease.appKey", "must not be empty"));
        }
        if self.app_secret.is_empty() {
            return Err(ConfigError::new("netease.appSecret", "must not be empty"));
        }
        if let NeteaseEndpoint::Url(url) = &self.endpoint {
            validate_endpoint("netease.endpoint", url)?;
        }
        validate_durations("netease", self.timeout, None)?;
        self.rate.validate()
    }
}

/// Either provider's configuration, for [`super::build`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProviderConfig {
    Tencent(TencentConfig),
    Netease(NeteaseConfig),
}

impl ProviderConfig {
    pub fn kind(&self) -> ProviderKind {
        match self {
            ProviderConfig::Tencent(_) => ProviderKind::Tencent,
            ProviderConfig::Netease(_) => ProviderKind::NetEase,
        }
    }

    /// The app this configuration talks to: kind, app id and endpoint host.
    pub fn app(&self) -> AppIdentity {
        match self {
            ProviderConfig::Tencent(c) => c.app(),
            ProviderConfig::Netease(c) => c.app(),
        }
    }

    pub fn rate(&self) -> RateConfig {
        match self {
            ProviderConfig::Tencent(c) => c.rate,
            ProviderConfig::Netease(c) => c.rate,
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        match self {
            ProviderConfig::Tencent(c) => c.validate(),
            ProviderConfig::Netease(c) => c.validate(),
        }
    }
}

/// `host[:port]` of a base URL; the URL itself when it does not parse.
fn endpoint_host(base_url: &str) -> String {
    match url::Url::parse(base_url) {
        Ok(url) => match (url.host_str(), url.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_string(),
            _ => base_url.to_string(),
        },
        Err(_) => base_url.to_string(),
    }
}

fn validate_durations(
    prefix: &str,
    timeout: Duration,
    ttl: Option<Duration>,
) -> Result<(), ConfigError> {
    if timeout.is_zero() {
        return Err(ConfigError::new(
            format!("{prefix}.timeout"),
            "must be longer than 0",
        ));
    }
    if ttl.is_some_and(|ttl| ttl < Duration::from_secs(1)) {
        return Err(ConfigError::new(
            format!("{prefix}.usersigTtl"),
            "must be at least 1s",
        ));
    }
    Ok(())
}

/// An endpoint must be `https://host[:port]`; plain `http://` is allowed only for
/// loopback hosts (127.0.0.0/8, localhost), where the simulators run.
pub fn validate_endpoint(field: &str, endpoint: &str) -> Result<(), ConfigError> {
    let parsed = url::Url::parse(endpoint).map_err(|e| {
        ConfigError::new(
            field,
            format!("{endpoint:?} is not a URL ({e}); expected https://host"),
        )
    })?;
    let host = parsed.host_str().unwrap_or_default().to_string();
    if host.is_empty() {
        return Err(ConfigError::new(
            field,
            format!("{endpoint:?} has no host; expected https://host"),
        ));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() || !parsed.username().is_empty() {
        return Err(ConfigError::new(
            field,
            "must be scheme://host[:port] without credentials, query or fragment",
        ));
    }
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(&host) => Ok(()),
        "http" => Err(ConfigError::new(
            field,
            format!("plain http is allowed only for 127.0.0.0/8 or localhost, not {host:?}; use https://"),
        )),
        other => Err(ConfigError::new(
            field,
            format!("scheme {other:?} is not allowed; use https://"),
        )),
    }
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
}

impl fmt::Display for TencentRegion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}
