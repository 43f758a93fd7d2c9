//! Manifests the tests and the demo apply.

use super::NAMESPACE;

pub fn secret(name: &str, key: &str, value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: {NAMESPACE}\nstringData:\n  {key}: \"{value}\"\n"
    )
}

pub fn tencent_provider(name: &str, endpoint: &str, sdk_app_id: u64) -> String {
    format!(
        r#"apiVersion: im.chatgroup.dev/v1alpha1
kind: ChatProvider
metadata:
  name: {name}
  namespace: {NAMESPACE}
spec:
  tencent:
    sdkAppId: {sdk_app_id}
    identifier: administrator
    endpoint: {endpoint}
    secretKeyRef: {{name: tencent-key, key: secretKey}}
"#
    )
}

pub fn netease_provider(name: &str, endpoint: &str, app_key: &str) -> String {
    format!(
        r#"apiVersion: im.chatgroup.dev/v1alpha1
kind: ChatProvider
metadata:
  name: {name}
  namespace: {NAMESPACE}
spec:
  netease:
    appKey: {app_key}
    endpoint: {endpoint}
    appSecretRef: {{name: netease-secret, key: appSecret}}
"#
    )
}

/// A ChatGroup manifest; `extra` is appended to the spec (indented two spaces).
pub fn group(name: &str, provider: &str, group_type: &str, extra: &str) -> String {
    let extra: String = extra.lines().map(|l| format!("  {l}\n")).collect();
    format!(
        r#"apiVersion: im.chatgroup.dev/v1alpha1
kind: ChatGroup
metadata:
  name: {name}
  namespace: {NAMESPACE}
spec:
  providerRef: {{name: {provider}}}
  type: {group_type}
{extra}"#
    )
}

/// `manifest` (one object) with an annotation added to its metadata.
pub fn with_annotation(manifest: &str, key: &str, value: &str) -> String {
    manifest.replacen(
        "metadata:\n",
        &format!("metadata:\n  annotations:\n    {key}: \"{value}\"\n"),
        1,
    )
}
