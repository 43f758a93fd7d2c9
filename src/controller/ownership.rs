//! Which step a reconcile takes next, decided from what is known: the object's spec
//! and status (read from the API server), the app its ChatProvider resolves to, the
//! claims won or lost so far, and what the provider reported. No I/O here; `act`
//! executes the step, records what it learned in [`Known`] or in status, and asks
//! again until the answer is a final step.
//!
//! The rules:
//! - A group is disbanded only by the object that owns it: it created it (the create
//!   answered, or a lost create proven by its caller-chosen id or its marker) or adopted
//!   it after winning its claim. `spec.groupId` alone never makes a disband target.
//! - Every group id is claimed cluster-wide before it is created or adopted, and the
//!   recorded id is claimed again (back-filled) before anything is done with it.
//! - A recorded app that differs from the ChatProvider's app stops everything.
//! - A create whose answer was lost is searched for; only a complete, empty search
//!   repeated past a bound on how late a create can take effect lets it be re-created,
//!   or the object be released.
//! - A group whose create was sent more than once (server-assigned ids) is searched for
//!   a second group with its marker before anything else is done with it; any such
//!   group is provably this object's and is disbanded.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use k8s_openapi::jiff::Timestamp;

use super::plan;
use crate::api::{
    ChatGroupSpec, ChatGroupStatus, DeletionPolicy, GroupOrigin, GroupState, RecordedApp,
};
use crate::provider::{AppIdentity, IdAssignment, ObservedGroup};

/// What the provider can do that changes the rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities {
    pub ids: IdAssignment,
    /// Groups carry this operator's marker, which is checked before destructive calls.
    pub carries_marker: bool,
}

/// The result of claiming a group id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClaimResult {
    Held,
    /// Another live ChatGroup (`namespace/name`) holds the claim.
    HeldBy(String),
}

/// What this reconcile has learned so far.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Known {
    pub claims: BTreeMap<String, ClaimResult>,
    /// Provider reads by group id: `None` when the provider says the group is gone.
    pub lookups: BTreeMap<String, Option<ObservedGroup>>,
    /// The lost-create search's answer: every group carrying this object's marker.
    pub search: Option<Vec<ObservedGroup>>,
    /// The create call of this reconcile answered "created".
    pub created: bool,
    /// Duplicates from a lost create disbanded in this reconcile.
    pub duplicates_done: BTreeSet<String>,
}

/// Everything a decision depends on.
#[derive(Clone, Debug)]
pub struct Facts<'a> {
    pub spec: &'a ChatGroupSpec,
    pub status: &'a ChatGroupStatus,
    pub uid: &'a str,
    pub deleting: bool,
    /// The app and capabilities of the ChatProvider's client; `None` until resolved
    /// (an object that owns nothing is released without resolving it).
    pub provider: Option<(&'a AppIdentity, Capabilities)>,
    pub now: Timestamp,
    /// How late a create may still take effect after it was sent.
    pub late_create_bound: Duration,
    /// The object asks to take over a group that carries another object's marker (a
    /// cluster rebuilt or restored from backup): see [`TAKE_OVER_ANNOTATION`].
    pub take_over: bool,
    pub known: &'a Known,
}

/// `im.chatgroup.dev/take-over: "true"` on a ChatGroup lets it adopt (and re-stamp) a
/// group that carries another object's marker. Without it such a group is refused:
/// the marker may be a live object's in another cluster.
pub const TAKE_OVER_ANNOTATION: &str = "im.chatgroup.dev/take-over";

/// Why an object is released without any provider call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Release {
    /// No group was ever created or adopted for this object.
    NothingOwned,
    /// The group is owned by another object, or carries another owner's marker.
    NotOwned { group_id: String, by: String },
    /// A lost create was searched for until it was proven never to have happened.
    CreateNeverHappened,
}

/// The next step of a reconcile.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// Done: the group is disbanded and this object is its tombstone.
    Tombstone,
    /// Release the object with no provider call.
    Release(Release),
    /// Release the object and leave the group (deletionPolicy: Orphan).
    Orphan,
    /// Resolve the ChatProvider to a client: the next decision needs it.
    ResolveProvider,
    /// The ChatProvider resolves to another app than the one recorded: call nothing.
    ProviderChanged { recorded: RecordedApp },
    /// Record the current app for a group recorded before apps were recorded.
    RecordApp,
    /// Claim this id cluster-wide.
    Claim { group_id: String },
    /// Read this group from the provider.
    Read { group_id: String },
    /// Search for the group a lost create may have made.
    Search,
    /// The search came back empty; look again after `retry_in`.
    WaitForLateCreate { retry_in: Duration },
    /// Create the group (under this id, where the caller chooses it).
    Create { group_id: Option<String> },
    /// Record the group in status as this object's.
    Record {
        group: ObservedGroup,
        origin: GroupOrigin,
    },
    /// Disband a second group a lost create made; it carries this object's marker.
    DisbandDuplicate { group_id: String },
    /// Disband this object's group.
    Disband { group_id: String },
    /// The recorded group is gone: disbanded, or (when active) externally disbanded.
    Gone { group_id: String },
    /// Make the group match the spec.
    Converge { group: ObservedGroup },
    /// Refuse: another object owns the group.
    NotOwned { group_id: String, by: String },
    /// Refuse: the spec cannot be acted on.
    Invalid {
        field: &'static str,
        message: String,
    },
}

/// Whether a recorded app is the app a client talks to now.
pub fn same_app(recorded: &RecordedApp, current: &AppIdentity) -> bool {
    recorded.provider == current.kind.to_string() && recorded.app_id == current.app_id
}

/// The app as recorded in status.
pub fn recorded_app(app: &AppIdentity) -> RecordedApp {
    RecordedApp {
        provider: app.kind.to_string(),
        app_id: app.app_id.clone(),
        host: app.host.clone(),
    }
}

/// The next step. See the module documentation for the rules.
pub fn next_step(f: &Facts<'_>) -> Step {
    let status = f.status;
    if status.disbanded_at.is_some() {
        return Step::Tombstone;
    }
    if f.deleting && f.spec.deletion_policy == DeletionPolicy::Orphan {
        return Step::Orphan;
    }
    let nothing_recorded = status.group_id.is_none() && status.create_pending_since.is_none();
    if nothing_recorded && (f.deleting || (ending(f) && f.spec.group_id.is_none())) {
        return Step::Release(Release::NothingOwned);
    }
    let Some((app, capabilities)) = f.provider else {
        return Step::ResolveProvider;
    };
    if let Some(recorded) = status.app.as_ref().filter(|r| !same_app(r, app)) {
        return Step::ProviderChanged {
            recorded: recorded.clone(),
        };
    }
    let f = &Resolved { f, capabilities };
    if let Some(id) = &status.group_id {
        return recorded(f, id);
    }
    if status.create_pending_since.is_some() {
        return pending(f);
    }
    if let Some(id) = &f.spec.group_id {
        return named(f, id);
    }
    match capabilities.ids {
        IdAssignment::CallerChosen => {
            let id = plan::derived_tencent_group_id(f.uid, f.spec.group_type.into());
            claimed(f, &id).unwrap_or(Step::Create { group_id: Some(id) })
        }
        IdAssignment::ServerAssigned => Step::Create { group_id: None },
    }
}

/// Facts once the provider is known.
struct Resolved<'f, 'a> {
    f: &'f Facts<'a>,
    capabilities: Capabilities,
}

impl<'a> std::ops::Deref for Resolved<'_, 'a> {
    type Target = Facts<'a>;
    fn deref(&self) -> &Facts<'a> {
        self.f
    }
}

/// The group is to be disbanded: deleted with policy Delete, or `state: disbanded`.
fn ending(f: &Facts<'_>) -> bool {
    f.deleting || f.spec.state == GroupState::Disbanded
}

/// `None` when this object holds the claim on `id`; otherwise the step to take.
fn claimed(f: &Resolved<'_, '_>, id: &str) -> Option<Step> {
    match f.known.claims.get(id) {
        Some(ClaimResult::Held) => None,
        None => Some(Step::Claim {
            group_id: id.to_string(),
        }),
        Some(ClaimResult::HeldBy(by)) => Some(not_owned(f, id, by)),
    }
}

/// Another object owns `id`: a deleted object lets go without a call; any other is
/// refused (a `state: disbanded` one too: it disbanded nothing, so it is no tombstone).
fn not_owned(f: &Resolved<'_, '_>, id: &str, by: &str) -> Step {
    let (group_id, by) = (id.to_string(), by.to_string());
    if f.deleting {
        Step::Release(Release::NotOwned { group_id, by })
    } else {
        Step::NotOwned { group_id, by }
    }
}

/// A marker that names another object: the group is not this object's.
fn foreign_marker<'g>(f: &Resolved<'_, '_>, group: &'g ObservedGroup) -> Option<&'g str> {
    if !f.capabilities.carries_marker {
        return None;
    }
    group.marker.as_deref().filter(|m| *m != f.uid)
}

/// A group recorded in status.
fn recorded(f: &Resolved<'_, '_>, id: &str) -> Step {
    if f.status.app.is_none() {
        return Step::RecordApp;
    }
    if let Some(step) = claimed(f, id) {
        return step;
    }
    // A create sent more than once may still surface late as a second group.
    let watched = f.status.duplicate_watch.is_some() && f.capabilities.carries_marker;
    if watched && f.known.search.is_none() {
        return Step::Search;
    }
    if let Some(duplicate) = duplicates(f, id).next() {
        // Claimed like any group before it is disbanded.
        return claimed(f, &duplicate.id).unwrap_or_else(|| Step::DisbandDuplicate {
            group_id: duplicate.id.clone(),
        });
    }
    // Without a marker to check, a disband needs no read first: "gone" answers it too.
    if ending(f) && !f.capabilities.carries_marker {
        return Step::Disband {
            group_id: id.to_string(),
        };
    }
    match f.known.lookups.get(id) {
        None => Step::Read {
            group_id: id.to_string(),
        },
        // The disband call proves "gone" on its own terms (Tencent: only 10010 counts).
        Some(None) if ending(f) => Step::Disband {
            group_id: id.to_string(),
        },
        Some(None) => Step::Gone {
            group_id: id.to_string(),
        },
        Some(Some(group)) => match foreign_marker(f, group) {
            // A restored object whose group carries its old UID's marker, say.
            Some(_) if f.take_over && !ending(f) => Step::Record {
                group: group.clone(),
                origin: GroupOrigin::Adopted,
            },
            Some(marker) => not_owned(f, id, &marked_by(marker)),
            None if ending(f) => Step::Disband {
                group_id: id.to_string(),
            },
            None => Step::Converge {
                group: group.clone(),
            },
        },
    }
}

fn marked_by(marker: &str) -> String {
    format!("the object with marker {marker}")
}

/// An existing group found under an id this object claimed: adopted, unless it
/// carries another object's marker and this object does not ask to take it over.
fn adopt(f: &Resolved<'_, '_>, group: &ObservedGroup, origin: GroupOrigin) -> Step {
    match foreign_marker(f, group) {
        Some(marker) if !f.take_over => not_owned(f, &group.id, &marked_by(marker)),
        _ => Step::Record {
            group: group.clone(),
            origin,
        },
    }
}

/// Groups the lost-create search found besides the recorded one.
fn duplicates<'k>(
    f: &'k Resolved<'_, '_>,
    recorded: &'k str,
) -> impl Iterator<Item = &'k ObservedGroup> {
    f.known
        .search
        .iter()
        .flatten()
        .filter(move |g| g.id != recorded && !f.known.duplicates_done.contains(&g.id))
        // A second group another object has claimed since is theirs to decide on.
        .filter(move |g| !matches!(f.known.claims.get(&g.id), Some(ClaimResult::HeldBy(_))))
}

/// A create was sent and its answer not recorded.
fn pending(f: &Resolved<'_, '_>) -> Step {
    match f.capabilities.ids {
        IdAssignment::CallerChosen => pending_with_known_id(f),
        IdAssignment::ServerAssigned => pending_by_marker(f),
    }
}

/// The id the pending create was made under.
fn pending_id(f: &Resolved<'_, '_>) -> String {
    let recorded = f
        .status
        .pending_create
        .as_ref()
        .and_then(|p| p.group_id.clone());
    recorded
        .or_else(|| f.spec.group_id.clone())
        .unwrap_or_else(|| plan::derived_tencent_group_id(f.uid, f.spec.group_type.into()))
}

fn pending_with_known_id(f: &Resolved<'_, '_>) -> Step {
    let id = pending_id(f);
    if let Some(step) = claimed(f, &id) {
        return step;
    }
    match f.known.lookups.get(&id) {
        None => Step::Read { group_id: id },
        Some(Some(group)) => adopt(f, group, origin_of_pending(f)),
        // Re-sending a create under the same id is safe: it answers "already exists".
        Some(None) if !ending(f) => Step::Create { group_id: Some(id) },
        Some(None) => match late_create_wait(f) {
            Some(retry_in) => Step::WaitForLateCreate { retry_in },
            None => Step::Release(Release::CreateNeverHappened),
        },
    }
}

fn origin_of_pending(f: &Resolved<'_, '_>) -> GroupOrigin {
    if f.known.created || f.spec.group_id.is_none() {
        GroupOrigin::Created
    } else {
        GroupOrigin::Adopted
    }
}

fn pending_by_marker(f: &Resolved<'_, '_>) -> Step {
    let Some(found) = &f.known.search else {
        return Step::Search;
    };
    // The oldest team is kept; any other is a duplicate, disbanded once this one is recorded.
    if let Some(first) = oldest(found) {
        if let Some(step) = claimed(f, &first.id) {
            return step;
        }
        return Step::Record {
            group: first.clone(),
            origin: GroupOrigin::Created,
        };
    }
    match late_create_wait(f) {
        Some(retry_in) => Step::WaitForLateCreate { retry_in },
        None if ending(f) => Step::Release(Release::CreateNeverHappened),
        None => Step::Create { group_id: None },
    }
}

/// Team ids are assigned in increasing order, so the lowest is the first create.
fn oldest(found: &[ObservedGroup]) -> Option<&ObservedGroup> {
    found.iter().min_by_key(|g| (g.id.len(), g.id.clone()))
}

/// Fewest complete, empty searches before a lost create counts as never made.
pub const EMPTY_SEARCHES_NEEDED: u32 = 2;

/// How long to wait before the next search, or `None` once a lost create is proven
/// never to have happened: at least [`EMPTY_SEARCHES_NEEDED`] complete empty searches
/// (or reads, for caller-chosen ids), the last one after the create could still have
/// taken effect.
fn late_create_wait(f: &Resolved<'_, '_>) -> Option<Duration> {
    let since = f.status.create_pending_since.as_ref()?.0;
    let bound = since + f.late_create_bound;
    let (searches, last) = f
        .status
        .pending_create
        .as_ref()
        .map(|p| (p.empty_searches, p.last_empty_search.as_ref().map(|t| t.0)))
        .unwrap_or((0, None));
    let proven = searches >= EMPTY_SEARCHES_NEEDED && last.is_some_and(|t| t >= bound);
    if proven {
        return None;
    }
    let until_bound = bound.duration_since(f.now).unsigned_abs();
    let wait = if f.now < bound {
        until_bound
    } else {
        Duration::ZERO
    };
    Some(wait.max(MIN_SEARCH_GAP))
}

/// Searches for one lost create are at least this far apart.
const MIN_SEARCH_GAP: Duration = Duration::from_secs(1);

/// A group named by `spec.groupId` and not recorded yet: claimed, then adopted (or, on
/// Tencent, created under that id).
fn named(f: &Resolved<'_, '_>, id: &str) -> Step {
    if let Some(step) = claimed(f, id) {
        return step;
    }
    match f.known.lookups.get(id) {
        None => Step::Read {
            group_id: id.to_string(),
        },
        Some(Some(group)) => adopt(f, group, GroupOrigin::Adopted),
        Some(None) if ending(f) => Step::Release(Release::NothingOwned),
        Some(None) => match f.capabilities.ids {
            IdAssignment::CallerChosen => Step::Create {
                group_id: Some(id.to_string()),
            },
            IdAssignment::ServerAssigned => Step::Invalid {
                field: "spec.groupId",
                message: format!("team {id} does not exist; team ids are assigned by the provider, so spec.groupId can only adopt an existing team"),
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::PendingCreate;
    use crate::provider::{GroupAttributes, ProviderKind};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    const UID: &str = "0b9f3c1e-5d7a-4c2b-9e8f-1a2b3c4d5e6f";
    const DERIVED: &str = "cg-0b9f3c1e5d7a4c2b9e8f1a2b3c4d5e6f";
    const BOUND: Duration = Duration::from_secs(120);

    /// One row's world: which provider, what the object says, what is known.
    #[derive(Clone)]
    struct World {
        kind: ProviderKind,
        spec: ChatGroupSpec,
        status: ChatGroupStatus,
        deleting: bool,
        app_id: &'static str,
        known: Known,
        now: Timestamp,
        take_over: bool,
    }

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + secs).unwrap()
    }

    fn world(kind: ProviderKind, spec_yaml: &str) -> World {
        let spec = serde_norway::from_str(spec_yaml).expect("row spec parses");
        World {
            kind,
            spec,
            status: ChatGroupStatus::default(),
            deleting: false,
            app_id: "app-1",
            known: Known::default(),
            now: at(0),
            take_over: false,
        }
    }

    fn tencent(extra: &str) -> World {
        world(
            ProviderKind::Tencent,
            &format!("providerRef: {{name: p}}\ntype: Public\nname: Ops\n{extra}"),
        )
    }

    fn netease(extra: &str) -> World {
        world(
            ProviderKind::NetEase,
            &format!("providerRef: {{name: p}}\ntype: Advanced\nname: Ops\nowner: alice\n{extra}"),
        )
    }

    fn app(kind: ProviderKind, app_id: &str) -> AppIdentity {
        AppIdentity {
            kind,
            app_id: app_id.into(),
            host: "127.0.0.1".into(),
        }
    }

    fn group(id: &str, marker: Option<&str>) -> ObservedGroup {
        ObservedGroup {
            id: id.into(),
            attributes: GroupAttributes {
                name: "Ops".into(),
                ..GroupAttributes::default()
            },
            marker: marker.map(Into::into),
            ..ObservedGroup::default()
        }
    }

    impl World {
        fn step(&self) -> Step {
            let app = app(self.kind, self.app_id);
            let capabilities = match self.kind {
                ProviderKind::Tencent => Capabilities {
                    ids: IdAssignment::CallerChosen,
                    carries_marker: false,
                },
                ProviderKind::NetEase => Capabilities {
                    ids: IdAssignment::ServerAssigned,
                    carries_marker: true,
                },
            };
            next_step(&Facts {
                spec: &self.spec,
                status: &self.status,
                uid: UID,
                deleting: self.deleting,
                provider: Some((&app, capabilities)),
                now: self.now,
                late_create_bound: BOUND,
                take_over: self.take_over,
                known: &self.known,
            })
        }
        fn deleting(mut self) -> Self {
            self.deleting = true;
            self
        }
        fn recorded(mut self, id: &str) -> Self {
            self.status.group_id = Some(id.into());
            self.status.origin = Some(GroupOrigin::Created);
            self.status.app = Some(recorded_app(&app(self.kind, "app-1")));
            self
        }
        fn pending(mut self, searches: u32, last_search: Option<i64>) -> Self {
            self.status.create_pending_since = Some(Time(at(0)));
            self.status.app = Some(recorded_app(&app(self.kind, "app-1")));
            self.status.pending_create = Some(PendingCreate {
                name: "Ops".into(),
                empty_searches: searches,
                last_empty_search: last_search.map(|s| Time(at(s))),
                ..PendingCreate::default()
            });
            self
        }
        fn watched(mut self) -> Self {
            self.status.duplicate_watch = Some(crate::api::DuplicateWatch {
                owner: "alice".into(),
                since: Time(at(0)),
            });
            self
        }
        fn claim(mut self, id: &str, result: ClaimResult) -> Self {
            self.known.claims.insert(id.into(), result);
            self
        }
        fn read(mut self, id: &str, found: Option<ObservedGroup>) -> Self {
            self.known.lookups.insert(id.into(), found);
            self
        }
        fn searched(mut self, found: Vec<ObservedGroup>) -> Self {
            self.known.search = Some(found);
            self
        }
        fn taking_over(mut self) -> Self {
            self.take_over = true;
            self
        }
        fn now(mut self, secs: i64) -> Self {
            self.now = at(secs);
            self
        }
    }

    fn held() -> ClaimResult {
        ClaimResult::Held
    }

    fn other() -> ClaimResult {
        ClaimResult::HeldBy("chat/a".into())
    }

    fn claim(id: &str) -> Step {
        Step::Claim {
            group_id: id.into(),
        }
    }

    fn read(id: &str) -> Step {
        Step::Read {
            group_id: id.into(),
        }
    }

    fn refuse(id: &str) -> Step {
        Step::NotOwned {
            group_id: id.into(),
            by: "chat/a".into(),
        }
    }

    fn released_not_owned(id: &str) -> Step {
        Step::Release(Release::NotOwned {
            group_id: id.into(),
            by: "chat/a".into(),
        })
    }

    fn disband(id: &str) -> Step {
        Step::Disband {
            group_id: id.into(),
        }
    }

    #[test]
    fn ownership_decisions() {
        let ops = "groupId: ops-room";
        let team = "groupId: '1001'";
        let disbanded = "state: disbanded";
        let mine = Some(UID);
        let rows: Vec<(&str, World, Step)> = vec![
            // Fresh objects.
            ("tencent: a new group is claimed under its derived id first", tencent(""), claim(DERIVED)),
            ("tencent: then created under it", tencent("").claim(DERIVED, held()), Step::Create { group_id: Some(DERIVED.into()) }),
            ("netease: ids are assigned by the server, nothing to claim before", netease(""), Step::Create { group_id: None }),
            ("a disbanded object that never had a group is released", tencent(disbanded), Step::Release(Release::NothingOwned)),
            // The copy case: spec.groupId alone never makes a disband target.
            ("deleting an object that only names a group makes no call", tencent(ops).deleting(), Step::Release(Release::NothingOwned)),
            ("netease: likewise", netease(team).deleting(), Step::Release(Release::NothingOwned)),
            ("a named group is claimed before it is read", tencent(ops), claim("ops-room")),
            ("a named group claimed by another object is refused", tencent(ops).claim("ops-room", other()), refuse("ops-room")),
            ("a won claim is followed by a read", tencent(ops).claim("ops-room", held()), read("ops-room")),
            ("an existing named group is adopted", tencent(ops).claim("ops-room", held()).read("ops-room", Some(group("ops-room", None))), Step::Record { group: group("ops-room", None), origin: GroupOrigin::Adopted }),
            ("tencent: a missing named group is created under that id", tencent(ops).claim("ops-room", held()).read("ops-room", None), Step::Create { group_id: Some("ops-room".into()) }),
            ("netease: a missing named team is an invalid spec", netease(team).claim("1001", held()).read("1001", None), Step::Invalid { field: "spec.groupId", message: "team 1001 does not exist; team ids are assigned by the provider, so spec.groupId can only adopt an existing team".into() }),
            // state: disbanded on a group not owned yet: claim, then disband, or refuse.
            ("disbanded + named: claim first", tencent(&format!("{ops}\n{disbanded}")), claim("ops-room")),
            ("disbanded + named + claimed elsewhere: refused, not released", tencent(&format!("{ops}\n{disbanded}")).claim("ops-room", other()), refuse("ops-room")),
            ("disbanded + named + won: adopted so it can be disbanded", tencent(&format!("{ops}\n{disbanded}")).claim("ops-room", held()).read("ops-room", Some(group("ops-room", None))), Step::Record { group: group("ops-room", None), origin: GroupOrigin::Adopted }),
            ("disbanded + named + missing: nothing to disband", tencent(&format!("{ops}\n{disbanded}")).claim("ops-room", held()).read("ops-room", None), Step::Release(Release::NothingOwned)),
            // Recorded groups: the claim is back-filled before anything else.
            ("a recorded group is claimed again first", tencent("").recorded("g1"), claim("g1")),
            ("a group recorded before apps were recorded records the app first", { let mut w = tencent("").recorded("g1"); w.status.app = None; w }, Step::RecordApp),
            ("a recorded group whose claim another object holds is refused", tencent("").recorded("g1").claim("g1", other()), refuse("g1")),
            ("... and on delete released without a call", tencent("").recorded("g1").claim("g1", other()).deleting(), released_not_owned("g1")),
            ("tencent: deleting an owned group disbands it without a read", tencent("").recorded("g1").claim("g1", held()).deleting(), disband("g1")),
            ("netease: deleting reads the team for its marker first", netease("").recorded("7").claim("7", held()).deleting(), read("7")),
            ("netease: a team with this object's marker is disbanded", netease("").recorded("7").claim("7", held()).read("7", Some(group("7", mine))).deleting(), disband("7")),
            ("netease: a team with another marker is not ours: released, no disband", netease("").recorded("7").claim("7", held()).read("7", Some(group("7", Some("other-uid")))).deleting(), Step::Release(Release::NotOwned { group_id: "7".into(), by: "the object with marker other-uid".into() })),
            ("netease: state disbanded on a team with another marker refuses, disbanding nothing", netease(disbanded).recorded("7").claim("7", held()).read("7", Some(group("7", Some("other-uid")))), Step::NotOwned { group_id: "7".into(), by: "the object with marker other-uid".into() }),
            ("state disbanded on a recorded group claimed elsewhere refuses", tencent(disbanded).recorded("g1").claim("g1", other()), refuse("g1")),
            ("netease: an active team with another marker is refused", netease("").recorded("7").claim("7", held()).read("7", Some(group("7", Some("other-uid")))), Step::NotOwned { group_id: "7".into(), by: "the object with marker other-uid".into() }),
            ("a recorded group that is gone is reported gone", netease("").recorded("7").claim("7", held()).read("7", None), Step::Gone { group_id: "7".into() }),
            ("an active recorded group is converged", tencent("").recorded("g1").claim("g1", held()).read("g1", Some(group("g1", None))), Step::Converge { group: group("g1", None) }),
            // The app is part of the identity.
            ("another app: nothing is called", { let mut w = tencent("").recorded("g1"); w.app_id = "app-2"; w }, Step::ProviderChanged { recorded: recorded_app(&app(ProviderKind::Tencent, "app-1")) }),
            ("another app: not even on delete", { let mut w = netease("").recorded("7").deleting(); w.app_id = "app-2"; w }, Step::ProviderChanged { recorded: recorded_app(&app(ProviderKind::NetEase, "app-1")) }),
            ("deletionPolicy Orphan releases even when the app changed", { let mut w = tencent("deletionPolicy: Orphan").recorded("g1").deleting(); w.app_id = "app-2"; w }, Step::Orphan),
            ("a tombstone stays a tombstone", { let mut w = tencent("").recorded("g1"); w.status.disbanded_at = Some(Time(at(0))); w }, Step::Tombstone),
            // Tencent lost creates: the id proves it.
            ("tencent pending: claim the id the create was sent under", tencent("").pending(0, None), claim(DERIVED)),
            ("tencent pending: read it", tencent("").pending(0, None).claim(DERIVED, held()), read(DERIVED)),
            ("tencent pending: found is recorded as created", tencent("").pending(0, None).claim(DERIVED, held()).read(DERIVED, Some(group(DERIVED, None))), Step::Record { group: group(DERIVED, None), origin: GroupOrigin::Created }),
            ("tencent pending: missing is re-created under the same id", tencent("").pending(0, None).claim(DERIVED, held()).read(DERIVED, None), Step::Create { group_id: Some(DERIVED.into()) }),
            ("tencent pending delete: missing within the bound waits", tencent("").pending(1, Some(10)).claim(DERIVED, held()).read(DERIVED, None).deleting().now(10), Step::WaitForLateCreate { retry_in: Duration::from_secs(110) }),
            ("tencent pending delete: proven never made is released", tencent("").pending(2, Some(130)).claim(DERIVED, held()).read(DERIVED, None).deleting().now(130), Step::Release(Release::CreateNeverHappened)),
            // NetEase lost creates: the marker proves it.
            ("netease pending: search first", netease("").pending(0, None), Step::Search),
            ("netease pending: the found team is claimed", netease("").pending(0, None).searched(vec![group("12", mine)]), claim("12")),
            ("netease pending: then recorded as created", netease("").pending(0, None).searched(vec![group("12", mine)]).claim("12", held()), Step::Record { group: group("12", mine), origin: GroupOrigin::Created }),
            ("netease pending: of two, the first created is kept", netease("").pending(0, None).searched(vec![group("15", mine), group("12", mine)]).claim("12", held()), Step::Record { group: group("12", mine), origin: GroupOrigin::Created }),
            ("netease: the duplicate is claimed once the first is recorded", netease("").recorded("12").searched(vec![group("15", mine), group("12", mine)]).claim("12", held()), claim("15")),
            ("netease: then disbanded", netease("").recorded("12").searched(vec![group("15", mine), group("12", mine)]).claim("12", held()).claim("15", held()), Step::DisbandDuplicate { group_id: "15".into() }),
            ("netease: a duplicate another object has claimed since is left alone", netease("").recorded("12").searched(vec![group("15", mine), group("12", mine)]).claim("12", held()).claim("15", other()), read("12")),
            ("netease: a group whose create was re-sent is searched for a late duplicate", netease("").recorded("12").watched().claim("12", held()), Step::Search),
            ("netease: ... also before its disband", netease("").recorded("12").watched().claim("12", held()).deleting(), Step::Search),
            ("netease: a late duplicate found is disbanded", netease("").recorded("12").watched().claim("12", held()).claim("19", held()).searched(vec![group("12", mine), group("19", mine)]), Step::DisbandDuplicate { group_id: "19".into() }),
            // Another object's marker: the group may be a live object's in another cluster.
            ("netease: a named team with another object's marker is refused", netease(team).claim("1001", held()).read("1001", Some(group("1001", Some("other-uid")))), Step::NotOwned { group_id: "1001".into(), by: "the object with marker other-uid".into() }),
            ("netease: ... unless the object asks to take it over", netease(team).taking_over().claim("1001", held()).read("1001", Some(group("1001", Some("other-uid")))), Step::Record { group: group("1001", Some("other-uid")), origin: GroupOrigin::Adopted }),
            ("a restored object taking over its recorded group re-adopts it", netease("").taking_over().recorded("7").claim("7", held()).read("7", Some(group("7", Some("old-uid")))), Step::Record { group: group("7", Some("old-uid")), origin: GroupOrigin::Adopted }),
            ("take-over never disbands a group marked by another object", netease("").taking_over().recorded("7").claim("7", held()).read("7", Some(group("7", Some("old-uid")))).deleting(), Step::Release(Release::NotOwned { group_id: "7".into(), by: "the object with marker old-uid".into() })),
            ("deleting a group that reads as gone still asks the disband call", netease("").recorded("7").claim("7", held()).read("7", None).deleting(), disband("7")),
            ("netease: no duplicate, the group is read as usual", netease("").recorded("12").watched().claim("12", held()).searched(vec![group("12", mine)]), read("12")),
            ("tencent: ids are caller-chosen, a re-sent create cannot duplicate", tencent("").recorded("g1").watched().claim("g1", held()).deleting(), disband("g1")),
            ("netease pending: one empty search is not enough", netease("").pending(1, Some(130)).searched(vec![]).now(130), Step::WaitForLateCreate { retry_in: Duration::from_secs(1) }),
            ("netease pending: empty searches before the bound are not enough", netease("").pending(3, Some(60)).searched(vec![]).now(60), Step::WaitForLateCreate { retry_in: Duration::from_secs(60) }),
            ("netease pending: proven never made is created again", netease("").pending(2, Some(121)).searched(vec![]).now(121), Step::Create { group_id: None }),
            ("netease pending delete: proven never made is released", netease("").pending(2, Some(121)).searched(vec![]).deleting().now(121), Step::Release(Release::CreateNeverHappened)),
            ("netease pending delete: not proven keeps the finalizer", netease("").pending(0, Some(5)).searched(vec![]).deleting().now(5), Step::WaitForLateCreate { retry_in: Duration::from_secs(115) }),
        ];
        let mut failures = Vec::new();
        for (name, world, want) in rows {
            let got = world.step();
            if got != want {
                failures.push(format!("{name}:\n  want {want:?}\n  got  {got:?}"));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
}
