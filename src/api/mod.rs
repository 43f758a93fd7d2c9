//! The custom resources: `ChatGroup`, `ChatProvider` and `ChatGroupClaim` (group `im.chatgroup.dev`).

pub mod chatgroup;
pub mod chatprovider;
pub mod claim;
pub mod conditions;
pub mod lifecycle;
#[cfg(test)]
pub mod testing;

pub use chatgroup::*;
pub use chatprovider::*;
pub use claim::*;
pub use lifecycle::Lifecycle;

use kube::CustomResourceExt;

/// The API group of both resources.
pub const GROUP: &str = "im.chatgroup.dev";

/// The CRDs as multi-document YAML, exactly as checked into `crds/`.
pub fn crds_yaml() -> String {
    [ChatProvider::crd(), ChatGroup::crd(), ChatGroupClaim::crd()]
        .iter()
        .map(|crd| serde_norway::to_string(crd).expect("a CRD always serializes"))
        .collect::<Vec<_>>()
        .join("---\n")
}
