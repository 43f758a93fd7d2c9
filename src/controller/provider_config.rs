//! From a ChatProvider spec and the credential in its Secret to a provider
//! configuration. Pure: the Secret has already been read.

use crate::api::{ChatProviderSpec, TencentRegionName};
use crate::provider::config::{
    ConfigError, NeteaseConfig, NeteaseEndpoint, ProviderConfig, RateConfig, TencentConfig,
    TencentEndpoint, TencentRegion,
};
use crate::provider::secret::Secret;

fn region(name: TencentRegionName) -> TencentRegion {
    match name {
        TencentRegionName::China => TencentRegion::China,
        TencentRegionName::Singapore => TencentRegion::Singapore,
        TencentRegionName::Seoul => TencentRegion::Seoul,
        TencentRegionName::Tokyo => TencentRegion::Tokyo,
        TencentRegionName::Frankfurt => TencentRegion::Frankfurt,
        TencentRegionName::Siliconvalley => TencentRegion::SiliconValley,
        TencentRegionName::Jakarta => TencentRegion::Jakarta,
    }
}

/// The provider configuration a ChatProvider declares, validated.
pub fn provider_config(
    spec: &ChatProviderSpec,
    credential: String,
) -> Result<ProviderConfig, ConfigError> {
    let config = match (&spec.tencent, &spec.netease) {
        (Some(t), None) => {
            let mut config = TencentConfig::new(t.sdk_app_id, Secret::new(credential));
            config.identifier = t.identifier.clone();
            config.marker_key = t.owner_data_key.clone();
            config.endpoint = match (&t.endpoint, t.region) {
                (Some(url), None) => TencentEndpoint::Url(url.clone()),
                (None, Some(name)) => TencentEndpoint::Region(region(name)),
                (None, None) => TencentEndpoint::Region(TencentRegion::China),
                (Some(_), Some(_)) => {
                    return Err(ConfigError::new(
                        "spec.tencent",
                        "set either region or endpoint, not both",
                    ))
                }
            };
            config.rate = rate(spec, RateConfig::TENCENT_DEFAULT);
            ProviderConfig::Tencent(config)
        }
        (None, Some(n)) => {
            let mut config = NeteaseConfig::new(n.app_key.clone(), Secret::new(credential));
            if let Some(url) = &n.endpoint {
                config.endpoint = NeteaseEndpoint::Url(url.clone());
            }
            config.rate = rate(spec, RateConfig::NETEASE_DEFAULT);
            ProviderConfig::Netease(config)
        }
        _ => {
            return Err(ConfigError::new(
                "spec",
                "exactly one of tencent or netease must be set",
            ))
        }
    };
    config
        .validate()
        .map_err(|e| ConfigError::new(format!("spec.{}", e.field), e.message))?;
    Ok(config)
}

fn rate(spec: &ChatProviderSpec, default: RateConfig) -> RateConfig {
    match &spec.rate_limit {
        Some(limit) => RateConfig {
            requests_per_second: limit.requests_per_second,
            burst: limit.burst.unwrap_or(1),
        },
        None => default,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(yaml: &str) -> ChatProviderSpec {
        serde_norway::from_str(yaml).expect("test spec parses")
    }

    #[test]
    fn a_tencent_provider_defaults_to_china_and_the_documented_rate() {
        let config = provider_config(
            &spec("tencent: {sdkAppId: 1400000000, secretKeyRef: {name: s, key: k}}"),
            "key".into(),
        )
        .expect("valid");
        let ProviderConfig::Tencent(t) = config else {
            panic!("tencent expected")
        };
        assert_eq!(t.endpoint, TencentEndpoint::Region(TencentRegion::China));
        assert_eq!(t.identifier, "administrator");
        assert_eq!(t.rate, RateConfig::TENCENT_DEFAULT);
    }

    #[test]
    fn a_plain_http_endpoint_off_this_machine_is_refused_naming_the_field() {
        let error = provider_config(
            &spec("netease: {appKey: k, endpoint: 'http://example.com', appSecretRef: {name: s, key: k}}"),
            "secret".into(),
        )
        .expect_err("plain http to a remote host");
        assert!(error.field.contains("endpoint"), "{error}");
    }

    #[test]
    fn the_rate_limit_burst_defaults_to_evenly_spaced_calls() {
        let config = provider_config(
            &spec("netease: {appKey: k, appSecretRef: {name: s, key: k}}\nrateLimit: {requestsPerSecond: 7}"),
            "secret".into(),
        )
        .expect("valid");
        assert_eq!(
            config.rate(),
            RateConfig {
                requests_per_second: 7,
                burst: 1
            }
        );
    }
}
