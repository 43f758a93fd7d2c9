//! Cluster-wide claims on provider groups (`ChatGroupClaim`): of two ChatGroups that
//! name the same group, the one whose create of the claim object succeeds owns it; the
//! other gets 409 and learns who holds it. A claim whose holder no longer exists is
//! taken over under a resourceVersion precondition.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use kube::api::{Api, DeleteParams, ListParams, PostParams, Preconditions};
use kube::{Client, ResourceExt};

use super::fence::Fence;
use super::ownership::ClaimResult;
use crate::api::{
    ChatGroup, ChatGroupClaim, ChatGroupClaimSpec, ChatProvider, ChatProviderSpec, ClaimHolder,
    RecordedApp,
};
use crate::provider::ProviderKind;
use crate::{Error, Result};

/// Attempts at winning a claim when another writer changes it in between.
const ATTEMPTS: usize = 3;

/// The claim's spec for `group_id` in `app`, held by `holder`.
fn claim_spec(app: &RecordedApp, group_id: &str, holder: &ClaimHolder) -> ChatGroupClaimSpec {
    ChatGroupClaimSpec {
        provider: app.provider.clone(),
        app_id: app.app_id.clone(),
        group_id: group_id.to_string(),
        holder: holder.clone(),
    }
}

/// The claim object's name for `group_id` in `app`.
pub fn claim_name(app: &RecordedApp, group_id: &str) -> String {
    ChatGroupClaimSpec::object_name(&app.provider, &app.app_id, group_id)
}

fn not_found(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 404)
}

fn conflict(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 409)
}

/// Claims `group_id` for `holder`: `Held` when it is (now) this holder's, `HeldBy`
/// when another live ChatGroup holds it. With `expect_existing` (a recorded group,
/// whose claim was made when it was recorded) the claim is read first, sparing the
/// create that would only answer 409.
pub async fn claim(
    client: &Client,
    app: &RecordedApp,
    group_id: &str,
    holder: &ClaimHolder,
    expect_existing: bool,
) -> Result<ClaimResult> {
    let api: Api<ChatGroupClaim> = Api::all(client.clone());
    let name = claim_name(app, group_id);
    let spec = claim_spec(app, group_id, holder);
    for attempt in 0..ATTEMPTS {
        if attempt > 0 || !expect_existing {
            let object = ChatGroupClaim::new(&name, spec.clone());
            match api.create(&PostParams::default(), &object).await {
                Ok(_) => return Ok(ClaimResult::Held),
                Err(e) if conflict(&e) => {}
                Err(e) => return Err(Error::kube(format!("create ChatGroupClaim {name}"), e)),
            }
        }
        let Some(existing) = api
            .get_opt(&name)
            .await
            .map_err(|e| Error::kube(format!("read ChatGroupClaim {name}"), e))?
        else {
            continue; // none yet, or released in between: create it
        };
        check_describes(&existing, &spec, &name)?;
        if existing.spec.holder.uid == holder.uid {
            return Ok(ClaimResult::Held);
        }
        if holder_alive(client, &existing.spec.holder).await? {
            let other = &existing.spec.holder;
            return Ok(ClaimResult::HeldBy(format!(
                "ChatGroup {}/{} (ChatGroupClaim {name})",
                other.namespace, other.name
            )));
        }
        // The holder is gone (its finalizer was removed by hand, say): take the claim
        // over, unless someone else changed it since it was read.
        let mut replacement = ChatGroupClaim::new(&name, spec.clone());
        replacement.metadata.resource_version = existing.resource_version();
        match api
            .replace(&name, &PostParams::default(), &replacement)
            .await
        {
            Ok(_) => return Ok(ClaimResult::Held),
            Err(e) if conflict(&e) || not_found(&e) => {}
            Err(e) => return Err(Error::kube(format!("take over ChatGroupClaim {name}"), e)),
        }
    }
    Err(Error::Contended {
        object: format!("ChatGroupClaim {name}"),
    })
}

/// A claim object named for `spec`'s group must describe that group: one that names
/// another was not written by this operator.
fn check_describes(existing: &ChatGroupClaim, spec: &ChatGroupClaimSpec, name: &str) -> Result<()> {
    if existing
        .spec
        .is_for(&spec.provider, &spec.app_id, &spec.group_id)
    {
        return Ok(());
    }
    Err(Error::ForeignClaim {
        claim: name.to_string(),
        message: format!(
            "it names {} app {} group {}, not {} app {} group {}; it was not written by this operator: delete it",
            existing.spec.provider,
            existing.spec.app_id,
            existing.spec.group_id,
            spec.provider,
            spec.app_id,
            spec.group_id,
        ),
    })
}

/// Gives every recorded group in `groups` (a fresh list) a claim if it has none, before
/// any reconcile runs, so an object that only names a recorded group (a copy refused
/// under an earlier version, say) cannot claim it first. A group recorded before apps
/// were recorded is claimed in the app its ChatProvider (in `providers`) declares: the
/// app its own reconcile will record. Returns how many were made.
pub async fn backfill(
    client: &Client,
    groups: &[ChatGroup],
    providers: &[ChatProvider],
    fence: &Fence,
) -> Result<usize> {
    let api: Api<ChatGroupClaim> = Api::all(client.clone());
    let existing: HashSet<String> = api
        .list_metadata(&ListParams::default())
        .await
        .map_err(|e| Error::kube("list ChatGroupClaims", e))?
        .items
        .iter()
        .map(ResourceExt::name_any)
        .collect();
    let mut made = 0;
    for (group, id, app) in groups
        .iter()
        .filter_map(|group| recorded_claim(group, providers).map(|(id, app)| (group, id, app)))
    {
        let name = claim_name(&app, id);
        if existing.contains(&name) {
            continue;
        }
        let holder = ClaimHolder {
            namespace: group.namespace().unwrap_or_default(),
            name: group.name_any(),
            uid: group.uid().unwrap_or_default(),
        };
        fence.check()?;
        let object = ChatGroupClaim::new(&name, claim_spec(&app, id, &holder));
        match api.create(&PostParams::default(), &object).await {
            Ok(_) => made += 1,
            // Taken meanwhile: the object's reconcile sorts it out.
            Err(e) if conflict(&e) => {}
            Err(e) => return Err(Error::kube(format!("create ChatGroupClaim {name}"), e)),
        }
    }
    Ok(made)
}

/// The group `group` has recorded and not disbanded, with the app it lives in: the
/// recorded app, or else the one its ChatProvider declares now.
fn recorded_claim<'g>(
    group: &'g ChatGroup,
    providers: &[ChatProvider],
) -> Option<(&'g str, RecordedApp)> {
    let status = group.status.as_ref()?;
    if status.disbanded_at.is_some() {
        return None;
    }
    let id = status.group_id.as_deref()?;
    let app = match &status.app {
        Some(app) => app.clone(),
        None => {
            let namespace = group.namespace();
            let provider = providers.iter().find(|p| {
                p.namespace() == namespace && p.name_any() == group.spec.provider_ref.name
            })?;
            declared_app(&provider.spec)?
        }
    };
    Some((id, app))
}

/// The app a ChatProvider's spec declares, as a claim names it (kind and app id; the
/// host is informational and not part of a claim's key).
pub fn declared_app(spec: &ChatProviderSpec) -> Option<RecordedApp> {
    let (kind, app_id) = match (&spec.tencent, &spec.netease) {
        (Some(t), None) => (ProviderKind::Tencent, t.sdk_app_id.to_string()),
        (None, Some(n)) if !n.app_key.trim().is_empty() => {
            (ProviderKind::NetEase, n.app_key.clone())
        }
        _ => return None,
    };
    Some(RecordedApp {
        provider: kind.to_string(),
        app_id,
        host: String::new(),
    })
}

/// Whether the ChatGroup a claim names still exists (a fresh read, by UID). A holder
/// this operator may not read (outside its namespace) counts as alive: only a holder
/// proven gone is replaced.
async fn holder_alive(client: &Client, holder: &ClaimHolder) -> Result<bool> {
    let api: Api<ChatGroup> = Api::namespaced(client.clone(), &holder.namespace);
    let found = api.get_opt(&holder.name).await;
    if matches!(&found, Err(kube::Error::Api(status)) if status.code == 403) {
        return Ok(true);
    }
    let found = found.map_err(|e| {
        Error::kube(
            format!("read ChatGroup {}/{}", holder.namespace, holder.name),
            e,
        )
    })?;
    Ok(found.is_some_and(|g| g.uid().as_deref() == Some(holder.uid.as_str())))
}

/// Gives up the claim on `group_id` if `holder_uid` holds it; a claim held by another
/// object, or none at all, is left alone.
pub async fn release(
    client: &Client,
    app: &RecordedApp,
    group_id: &str,
    holder_uid: &str,
) -> Result<()> {
    let api: Api<ChatGroupClaim> = Api::all(client.clone());
    let name = claim_name(app, group_id);
    let existing = api
        .get_opt(&name)
        .await
        .map_err(|e| Error::kube(format!("read ChatGroupClaim {name}"), e))?;
    let Some(existing) = existing.filter(|c| c.spec.holder.uid == holder_uid) else {
        return Ok(());
    };
    let params = DeleteParams {
        preconditions: Some(Preconditions {
            uid: existing.uid(),
            resource_version: existing.resource_version(),
        }),
        ..DeleteParams::default()
    };
    match api.delete(&name, &params).await {
        Ok(_) => Ok(()),
        Err(e) if not_found(&e) => Ok(()),
        Err(e) => Err(Error::kube(format!("release ChatGroupClaim {name}"), e)),
    }
}

/// How long a won claim is trusted without asking the API server again.
const CACHE_FOR: Duration = Duration::from_secs(300);

/// Claims this replica won recently, so a steady-state reconcile (an active, recorded
/// group) makes no claim call; never consulted before a create, a disband or a
/// release. Forgotten on release and after [`CACHE_FOR`].
#[derive(Debug, Default)]
pub struct ClaimCache {
    won: Mutex<Won>,
}

#[derive(Debug, Default)]
struct Won {
    /// When each (claim name, holder uid) was won.
    at: HashMap<(String, String), Instant>,
    /// The size at which expired entries are swept next.
    sweep_at: usize,
}

/// Fewest entries worth a sweep.
const SWEEP_FROM: usize = 64;

impl ClaimCache {
    fn won(&self) -> std::sync::MutexGuard<'_, Won> {
        self.won
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether `holder_uid` won the claim named `name` recently.
    pub fn held(&self, name: &str, holder_uid: &str) -> bool {
        let key = (name.to_string(), holder_uid.to_string());
        self.won()
            .at
            .get(&key)
            .is_some_and(|won| won.elapsed() < CACHE_FOR)
    }

    pub fn remember(&self, name: &str, holder_uid: &str) {
        self.remember_at(name, holder_uid, Instant::now());
    }

    /// Remembers a claim won at `now`, and lets go of those no longer trusted: the
    /// cache holds the claims won in the last [`CACHE_FOR`], not one per group ever
    /// reconciled.
    fn remember_at(&self, name: &str, holder_uid: &str, now: Instant) {
        let mut won = self.won();
        // A sweep once the entries doubled since the last one: O(1) per remember,
        // amortized.
        if won.at.len() >= won.sweep_at.max(SWEEP_FROM) {
            won.at
                .retain(|_, at| now.saturating_duration_since(*at) < CACHE_FOR);
            won.sweep_at = won.at.len() * 2;
        }
        won.at
            .insert((name.to_string(), holder_uid.to_string()), now);
    }

    pub fn forget(&self, name: &str, holder_uid: &str) {
        self.won()
            .at
            .remove(&(name.to_string(), holder_uid.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::testing::{NAMESPACE, PROVIDER};
    use crate::api::ChatGroupStatus;

    fn provider(namespace: &str, name: &str, yaml: &str) -> ChatProvider {
        let mut provider = ChatProvider::new(name, serde_norway::from_str(yaml).expect("spec"));
        provider.metadata.namespace = Some(namespace.into());
        provider
    }

    fn recorded(group_id: &str, app: Option<(&str, &str)>) -> ChatGroupStatus {
        ChatGroupStatus {
            group_id: Some(group_id.into()),
            app: app.map(|(provider, app_id)| RecordedApp {
                provider: provider.into(),
                app_id: app_id.into(),
                host: "h".into(),
            }),
            ..ChatGroupStatus::default()
        }
    }

    #[test]
    fn claims_won_long_ago_are_let_go_as_new_ones_are_remembered() {
        let cache = ClaimCache::default();
        let start = Instant::now();
        for i in 0..1000 {
            cache.remember_at(&format!("old-{i}"), "uid", start);
        }
        let later = start + CACHE_FOR + Duration::from_secs(1);
        for i in 0..1000 {
            cache.remember_at(&format!("new-{i}"), "uid", later);
        }
        let entries = &cache.won().at;
        assert!(
            entries.len() < 1100,
            "{} entries kept: the expired ones are swept",
            entries.len()
        );
        let newest = ("new-999".to_string(), "uid".to_string());
        assert!(entries.contains_key(&newest), "the newest claim is kept");
    }

    #[test]
    fn back_filled_claims_name_the_recorded_app_or_else_the_providers() {
        let tencent = "tencent: {sdkAppId: 1400000001, secretKeyRef: {name: s, key: k}}";
        let netease = "netease: {appKey: key-1, appSecretRef: {name: s, key: k}}";
        let blank = "netease: {appKey: ' ', appSecretRef: {name: s, key: k}}";
        let group = |status: ChatGroupStatus| ChatGroup::test().with_status(status).build();
        let disbanded = {
            let mut status = recorded("g1", Some(("tencent", "1")));
            status.disbanded_at = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                k8s_openapi::jiff::Timestamp::now(),
            ));
            status
        };
        type Case<'a> = (
            &'a str,
            ChatGroup,
            Vec<ChatProvider>,
            Option<(&'a str, &'a str, &'a str)>,
        );
        let cases: Vec<Case> = vec![
            (
                "the recorded app wins over the provider's",
                group(recorded("g1", Some(("tencent", "7")))),
                vec![provider(NAMESPACE, PROVIDER, tencent)],
                Some(("g1", "tencent", "7")),
            ),
            (
                "no recorded app: the tencent provider's",
                group(recorded("g1", None)),
                vec![provider(NAMESPACE, PROVIDER, tencent)],
                Some(("g1", "tencent", "1400000001")),
            ),
            (
                "no recorded app: the netease provider's",
                group(recorded("9", None)),
                vec![provider(NAMESPACE, PROVIDER, netease)],
                Some(("9", "netease", "key-1")),
            ),
            (
                "a provider of that name in another namespace is not it",
                group(recorded("g1", None)),
                vec![provider("elsewhere", PROVIDER, tencent)],
                None,
            ),
            (
                "a blank app key declares no app",
                group(recorded("9", None)),
                vec![provider(NAMESPACE, PROVIDER, blank)],
                None,
            ),
            (
                "nothing recorded: nothing to claim",
                group(ChatGroupStatus::default()),
                vec![provider(NAMESPACE, PROVIDER, tencent)],
                None,
            ),
            (
                "disbanded: nothing to claim",
                group(disbanded),
                vec![],
                None,
            ),
        ];
        for (case, group, providers, expected) in cases {
            let found = recorded_claim(&group, &providers);
            let found = found
                .as_ref()
                .map(|(id, app)| (*id, app.provider.as_str(), app.app_id.as_str()));
            assert_eq!(found, expected, "{case}");
        }
    }
}
