//! Events on ChatGroups (events.k8s.io/v1). An Event repeated for the same object
//! within a few minutes is counted as a series on the first one, as the API's event
//! series are meant to be, instead of a new object each time. Only the most recent
//! series are remembered: the cost of an Event stays the same with 10 or 10,000
//! objects (kube-runtime's `Recorder` keeps every Event of the last six minutes and
//! scans them all on each publish).

use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::time::Duration;

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::{Event as K8sEvent, EventSeries};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::events::{Event, EventType, Reporter};
use kube::Client;
use lru::LruCache;

/// Series remembered at once; an older one that repeats starts a new Event.
const REMEMBERED: NonZeroUsize = NonZeroUsize::new(1024).expect("non-zero");
/// How long after its last occurrence an Event may still be counted in its series.
const SERIES_WINDOW: Duration = Duration::from_secs(6 * 60);

/// What makes two Events the same: the object, and what is said of it.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
struct Key {
    uid: Option<String>,
    namespace: Option<String>,
    name: Option<String>,
    type_: String,
    reason: String,
    action: String,
    note: Option<String>,
}

/// Publishes Events as `reporter`.
pub struct EventPublisher {
    client: Client,
    reporter: Reporter,
    series: Mutex<LruCache<Key, (K8sEvent, Timestamp)>>,
}

impl EventPublisher {
    pub fn new(client: Client, reporter: Reporter) -> EventPublisher {
        EventPublisher {
            client,
            reporter,
            series: Mutex::new(LruCache::new(REMEMBERED)),
        }
    }

    fn series(&self) -> std::sync::MutexGuard<'_, LruCache<Key, (K8sEvent, Timestamp)>> {
        self.series
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Creates the Event, or counts it on its series when it repeats one.
    pub async fn publish(
        &self,
        event: &Event,
        regarding: &ObjectReference,
    ) -> Result<(), kube::Error> {
        let now = Timestamp::now();
        let key = Key {
            uid: regarding.uid.clone(),
            namespace: regarding.namespace.clone(),
            name: regarding.name.clone(),
            type_: type_name(event.type_).to_string(),
            reason: event.reason.clone(),
            action: event.action.clone(),
            note: event.note.clone(),
        };
        let window = jiff_span(SERIES_WINDOW);
        let repeated = self
            .series()
            .get(&key)
            .filter(|(_, last)| *last + window > now)
            .map(|(first, _)| first.clone());
        let namespace = regarding.namespace.as_deref().unwrap_or("default");
        let events: Api<K8sEvent> = Api::namespaced(self.client.clone(), namespace);
        let sent = match repeated {
            Some(mut first) => {
                let count = first.series.as_ref().map_or(2, |s| s.count + 1);
                first.series = Some(EventSeries {
                    count,
                    last_observed_time: MicroTime(now),
                });
                let name = first.metadata.name.clone().unwrap_or_default();
                events
                    .patch(&name, &PatchParams::default(), &Patch::Merge(&first))
                    .await?;
                first
            }
            None => {
                let fresh = self.new_event(event, regarding, now);
                events.create(&PostParams::default(), &fresh).await?;
                fresh
            }
        };
        self.series().put(key, (sent, now));
        Ok(())
    }

    fn new_event(&self, event: &Event, regarding: &ObjectReference, now: Timestamp) -> K8sEvent {
        let controller = &self.reporter.controller;
        let object = regarding.name.as_deref().unwrap_or(controller);
        K8sEvent {
            action: Some(event.action.clone()),
            reason: Some(event.reason.clone()),
            event_time: Some(MicroTime(now)),
            regarding: Some(regarding.clone()),
            note: event.note.clone(),
            metadata: ObjectMeta {
                namespace: regarding.namespace.clone(),
                name: Some(format!("{object}.{:x}", now.as_nanosecond())),
                ..ObjectMeta::default()
            },
            reporting_controller: Some(controller.clone()),
            reporting_instance: Some(
                self.reporter
                    .instance
                    .clone()
                    .unwrap_or_else(|| controller.clone()),
            ),
            type_: Some(type_name(event.type_).to_string()),
            related: event.secondary.clone(),
            ..K8sEvent::default()
        }
    }
}

fn type_name(type_: EventType) -> &'static str {
    match type_ {
        EventType::Normal => "Normal",
        EventType::Warning => "Warning",
    }
}

fn jiff_span(duration: Duration) -> k8s_openapi::jiff::SignedDuration {
    k8s_openapi::jiff::SignedDuration::try_from(duration).unwrap_or_default()
}
