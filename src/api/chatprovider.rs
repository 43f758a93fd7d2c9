//! `ChatProvider`: one IM app (a Tencent SDKAppID or a NetEase AppKey) and where its
//! secret lives. `ChatGroup`s in the same namespace refer to it by name.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A reference to one key of a Secret in the ChatProvider's namespace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyRef {
    /// Name of the Secret, in the same namespace as the ChatProvider.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Key inside the Secret's data whose value is the credential.
    #[schemars(length(min = 1, max = 253))]
    pub key: String,
}

/// Connection settings for a Tencent Cloud Chat (TIM) app.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!(has(self.region) && has(self.endpoint))").message("set either region or endpoint, not both"))]
pub struct TencentSpec {
    /// The app's SDKAppID from the Tencent Cloud Chat console.
    #[schemars(range(min = 1))]
    pub sdk_app_id: u64,
    /// An App admin account of the app; REST calls are made as this identifier.
    #[serde(default = "default_identifier")]
    #[schemars(length(min = 1, max = 32))]
    pub identifier: String,
    /// The data center of the app: china, singapore, seoul, tokyo, frankfurt,
    /// siliconvalley or jakarta. Defaults to china when neither region nor endpoint is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<TencentRegionName>,
    /// An explicit REST endpoint (https://host), overriding the region. Plain http is
    /// accepted only for 127.0.0.1 / localhost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// The Secret key holding the app's secret key, used to sign UserSigs.
    pub secret_key_ref: SecretKeyRef,
    /// A group-level AppDefinedData key enabled for this app in the console and kept
    /// for the operator: each group carries its managing object's marker under it,
    /// read before every disband, so two clusters sharing one app cannot disband each
    /// other's groups. It cannot be used in spec.customData. Unset: groups carry no
    /// marker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 16))]
    pub owner_data_key: Option<String>,
}

fn default_identifier() -> String {
    "administrator".to_string()
}

/// Tencent Cloud Chat data centers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TencentRegionName {
    China,
    Singapore,
    Seoul,
    Tokyo,
    Frankfurt,
    Siliconvalley,
    Jakarta,
}

/// Connection settings for a NetEase Yunxin IM app.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct NeteaseSpec {
    /// The app's AppKey from the Yunxin console.
    #[schemars(length(min = 1, max = 64))]
    pub app_key: String,
    /// The v2 REST endpoint. Defaults to the China host https://open.yunxinapi.com;
    /// the Singapore host is https://open-sg.yunxinapi.com. Plain http is accepted only
    /// for 127.0.0.1 / localhost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// The Secret key holding the app's AppSecret, used to compute CheckSums.
    pub app_secret_ref: SecretKeyRef,
}

/// The client-side request budget toward the provider, per API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct RateLimitSpec {
    /// Sustained calls per second for each provider API. Defaults to the documented
    /// limit: 200 for Tencent, 100 for NetEase (standard plan).
    #[schemars(range(min = 1, max = 10000))]
    pub requests_per_second: u32,
    /// Calls allowed at once above the sustained rate. Defaults to 1: calls evenly
    /// spaced, so that a provider counting whole seconds never sees more than
    /// requestsPerSecond in one. A larger burst only suits a provider known to count
    /// with a token bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 10000))]
    pub burst: Option<u32>,
}

/// An IM app the operator manages groups in. Exactly one of `tencent` or `netease`.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, KubeSchema)]
#[kube(
    group = "im.chatgroup.dev",
    version = "v1alpha1",
    kind = "ChatProvider",
    namespaced,
    status = "ChatProviderStatus",
    shortname = "cprov",
    category = "chat",
    doc = "An IM app (Tencent Cloud Chat or NetEase Yunxin) that ChatGroups in this namespace use.",
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.tencent) != has(self.netease)").message("exactly one of tencent or netease must be set"))]
pub struct ChatProviderSpec {
    /// A Tencent Cloud Chat app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tencent: Option<TencentSpec>,
    /// A NetEase Yunxin IM app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub netease: Option<NeteaseSpec>,
    /// Client-side rate limit toward the provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimitSpec>,
}

/// Whether the provider's credentials resolve.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatProviderStatus {
    /// The generation this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready` is True when the referenced Secret exists and holds a usable credential.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
}
