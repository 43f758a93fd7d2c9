//! Horizontal sharding: each shard owns whole apps, so an app's rate budget, its
//! claims and its lost-create searches live in one process.
//!
//! An app belongs to shard `h mod total`, where `h` is the first eight bytes (big
//! endian) of SHA-256 over `"<provider>/<app id>"`: two ChatProviders on one app land
//! in the same shard, and the split does not depend on the order objects are seen.
//! A ChatGroup belongs to the shard of the app it is recorded in (`status.app`), and
//! before anything is recorded, to the shard of the app its ChatProvider declares. A
//! ChatGroup whose ChatProvider is missing or declares no app belongs to shard 0,
//! which reports why.

use kube::api::Api;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Client, ResourceExt};
use sha2::{Digest, Sha256};

use super::claims::declared_app;
use crate::api::{ChatGroup, ChatProvider, RecordedApp};
use crate::{Error, Result};

/// This process's place among the shards: `index` of `total` (0 of 1 when unsharded).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub total: u32,
}

impl Default for Shard {
    fn default() -> Self {
        Shard { index: 0, total: 1 }
    }
}

/// The most shards: far past what any cluster's API server or provider quota needs.
pub const MAX_SHARDS: u32 = 1024;

impl Shard {
    /// The shard from `--shard` and `--total-shards`. Without `--shard` and with more
    /// than one shard, the index is the ordinal at the end of `instance` (a
    /// StatefulSet pod is named `<statefulset>-<ordinal>`).
    pub fn from_flags(index: Option<u32>, total: u32, instance: &str) -> Result<Shard> {
        let invalid = |flag: &'static str, message: String| Error::InvalidSetting { flag, message };
        if !(1..=MAX_SHARDS).contains(&total) {
            return Err(invalid(
                "--total-shards",
                format!("{total} is out of range: allowed from 1 to {MAX_SHARDS}"),
            ));
        }
        let index = match index {
            Some(index) => index,
            None if total == 1 => 0,
            None => ordinal(instance).ok_or_else(|| {
                invalid(
                    "--shard",
                    format!(
                        "not set, and the pod name {instance:?} ends in no ordinal: set --shard from 0 to {} or run as a StatefulSet",
                        total - 1
                    ),
                )
            })?,
        };
        if index >= total {
            return Err(invalid(
                "--shard",
                format!(
                    "{index} is out of range: allowed from 0 to {} (--total-shards {total})",
                    total - 1
                ),
            ));
        }
        Ok(Shard { index, total })
    }

    pub fn is_sharded(&self) -> bool {
        self.total > 1
    }

    /// The shard `app` belongs to.
    pub fn of_app(&self, app: &RecordedApp) -> u32 {
        let key = format!("{}/{}", app.provider.to_ascii_lowercase(), app.app_id);
        let digest = Sha256::digest(key.as_bytes());
        let head: [u8; 8] = digest[..8]
            .try_into()
            .expect("a SHA-256 digest has 32 bytes");
        (u64::from_be_bytes(head) % u64::from(self.total)) as u32
    }

    /// Whether this shard handles an object of `app` (`None`: no app known, shard 0).
    pub fn owns(&self, app: Option<&RecordedApp>) -> bool {
        app.map_or(0, |app| self.of_app(app)) == self.index
    }

    /// Whether this shard handles `group`, its ChatProvider looked up in `providers`.
    pub fn owns_group(&self, group: &ChatGroup, providers: &[ChatProvider]) -> bool {
        let provider = providers.iter().find(|p| {
            p.namespace() == group.namespace() && p.name_any() == group.spec.provider_ref.name
        });
        self.owns(group_app(group, provider).as_ref())
    }

    /// The Lease this shard's replicas elect their leader with: each shard its own.
    pub fn lease_name(&self, base: &str) -> String {
        if self.is_sharded() {
            format!("{base}-shard-{}", self.index)
        } else {
            base.to_string()
        }
    }
}

/// The ordinal at the end of a StatefulSet pod's name.
fn ordinal(instance: &str) -> Option<u32> {
    let (_, digits) = instance.rsplit_once('-')?;
    digits.parse().ok()
}

/// The app a ChatGroup is handled in: the one recorded in its status, or else the one
/// its ChatProvider declares; `None` when neither is known.
pub fn group_app(group: &ChatGroup, provider: Option<&ChatProvider>) -> Option<RecordedApp> {
    let recorded = group.status.as_ref().and_then(|s| s.app.clone());
    recorded.or_else(|| provider.and_then(|p| declared_app(&p.spec)))
}

/// A shard with the ChatProvider cache it reads declared apps from.
#[derive(Clone)]
pub struct ShardView {
    pub shard: Shard,
    providers: Store<ChatProvider>,
}

impl ShardView {
    pub fn new(shard: Shard, providers: Store<ChatProvider>) -> Self {
        ShardView { shard, providers }
    }

    fn cached_provider(&self, group: &ChatGroup) -> Option<std::sync::Arc<ChatProvider>> {
        let namespace = group.namespace().unwrap_or_default();
        let key = ObjectRef::new(&group.spec.provider_ref.name).within(&namespace);
        self.providers.get(&key)
    }

    /// Whether this shard handles `group`, from the caches alone (for the drift pass
    /// and the metrics).
    pub fn owns_cached(&self, group: &ChatGroup) -> bool {
        if !self.shard.is_sharded() {
            return true;
        }
        let provider = self.cached_provider(group);
        self.shard
            .owns(group_app(group, provider.as_deref()).as_ref())
    }

    /// Whether this shard handles `group`, when the caches alone can tell (its app is
    /// recorded, or its ChatProvider cached): a change to another shard's object is
    /// skipped without a read.
    pub fn decided_from_cache(&self, group: &ChatGroup) -> Option<bool> {
        if !self.shard.is_sharded() {
            return Some(true);
        }
        let provider = self.cached_provider(group);
        let app = group_app(group, provider.as_deref())?;
        Some(self.shard.owns(Some(&app)))
    }

    /// Whether this shard handles `group`, a fresh read: a ChatProvider not cached yet
    /// (just created, or the cache still listing) is read from the API server, so a
    /// group is never handed to shard 0 only because this shard has not seen its
    /// ChatProvider.
    pub async fn owns(&self, client: &Client, group: &ChatGroup) -> Result<bool> {
        if !self.shard.is_sharded() {
            return Ok(true);
        }
        let recorded = group.status.as_ref().and_then(|s| s.app.as_ref());
        if let Some(app) = recorded {
            return Ok(self.shard.owns(Some(app)));
        }
        let provider = match self.cached_provider(group) {
            Some(cached) => Some(ChatProvider::clone(&cached)),
            None => {
                let namespace = group.namespace().unwrap_or_default();
                let name = &group.spec.provider_ref.name;
                Api::<ChatProvider>::namespaced(client.clone(), &namespace)
                    .get_opt(name)
                    .await
                    .map_err(|e| Error::kube(format!("read ChatProvider {namespace}/{name}"), e))?
            }
        };
        Ok(self
            .shard
            .owns(group_app(group, provider.as_ref()).as_ref()))
    }

    /// Whether this shard handles `provider`: the shard of the app it declares (shard
    /// 0 for one that declares none, to report it).
    pub fn owns_provider(&self, provider: &ChatProvider) -> bool {
        self.shard.owns(declared_app(&provider.spec).as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(provider: &str, app_id: &str) -> RecordedApp {
        RecordedApp {
            provider: provider.into(),
            app_id: app_id.into(),
            host: String::new(),
        }
    }

    #[test]
    fn flags_give_the_shard_or_a_message_naming_the_flag() {
        let ok = |index, total, instance| Shard::from_flags(index, total, instance).unwrap();
        let refused = |index, total, instance| {
            Shard::from_flags(index, total, instance)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(ok(None, 1, "anything"), Shard::default());
        assert_eq!(
            ok(None, 3, "chatgroup-operator-2"),
            Shard { index: 2, total: 3 }
        );
        assert_eq!(ok(Some(1), 3, "pod"), Shard { index: 1, total: 3 });
        let cases = [
            (refused(None, 0, "x-0"), "--total-shards", "allowed from 1"),
            (
                refused(None, 5000, "x-0"),
                "--total-shards",
                "allowed from 1",
            ),
            (refused(Some(3), 3, "x-0"), "--shard", "allowed from 0 to 2"),
            (refused(None, 3, "x-7"), "--shard", "allowed from 0 to 2"),
            (refused(None, 3, "operator"), "--shard", "no ordinal"),
        ];
        for (message, flag, allowed) in cases {
            assert!(message.contains(flag), "{message}");
            assert!(message.contains(allowed), "{message}");
        }
    }

    #[test]
    fn an_app_lands_in_one_shard_whatever_its_providers_case_and_host() {
        let shard = Shard { index: 0, total: 3 };
        let mut tencent = app("tencent", "1400000001");
        let first = shard.of_app(&tencent);
        tencent.host = "adminapisgp.im.qcloud.com".into();
        assert_eq!(
            shard.of_app(&tencent),
            first,
            "the host is not part of the key"
        );
        assert_eq!(shard.of_app(&app("Tencent", "1400000001")), first);
        // The split is SHA-256 of "<provider>/<app id>", stable across versions.
        let expected = {
            let digest = Sha256::digest(b"tencent/1400000001");
            (u64::from_be_bytes(digest[..8].try_into().unwrap()) % 3) as u32
        };
        assert_eq!(first, expected);
    }

    #[test]
    fn apps_spread_over_every_shard() {
        let shard = Shard { index: 0, total: 3 };
        let mut counts = [0u32; 3];
        for n in 0..300 {
            counts[shard.of_app(&app("netease", &format!("appkey{n}"))) as usize] += 1;
        }
        assert!(counts.iter().all(|&c| c > 60), "{counts:?}");
    }

    #[test]
    fn a_group_goes_where_it_is_recorded_and_otherwise_where_its_provider_points() {
        let recorded = app("tencent", "1400000001");
        let declared = app("tencent", "1400000002");
        let mut provider: ChatProvider = serde_json::from_value(serde_json::json!({
            "apiVersion": "im.chatgroup.dev/v1alpha1", "kind": "ChatProvider",
            "metadata": {"name": "im", "namespace": "team-a"},
            "spec": {"tencent": {"sdkAppId": 1400000002u64,
                "secretKeyRef": {"name": "s", "key": "k"}}}
        }))
        .unwrap();
        let mut group = ChatGroup::test().build();
        assert_eq!(group_app(&group, Some(&provider)), Some(declared.clone()));
        assert_eq!(group_app(&group, None), None);
        group.status.get_or_insert_with(Default::default).app = Some(recorded.clone());
        // Repointing the ChatProvider does not move a recorded group to another shard.
        provider.spec.tencent.as_mut().unwrap().sdk_app_id = 1400000009;
        assert_eq!(group_app(&group, Some(&provider)), Some(recorded));

        let shards: Vec<Shard> = (0..3).map(|index| Shard { index, total: 3 }).collect();
        let owners = |app: Option<&RecordedApp>| shards.iter().filter(|s| s.owns(app)).count();
        assert_eq!(owners(Some(&declared)), 1, "exactly one shard owns an app");
        assert_eq!(owners(None), 1, "an unknown app is shard 0's");
        assert!(shards[0].owns(None));
    }

    #[test]
    fn each_shard_elects_its_own_leader() {
        assert_eq!(Shard::default().lease_name("op"), "op");
        assert_eq!(Shard { index: 2, total: 3 }.lease_name("op"), "op-shard-2");
    }
}
