//! Events as the operator publishes them: one object per new Event, a repeat counted
//! on its series, each object's Events apart.

use chatgroup_operator::controller::events::EventPublisher;
use e2e::{fixtures, Env, NAMESPACE};
use k8s_openapi::api::events::v1::Event as K8sEvent;
use kube::api::{Api, ListParams};
use kube::runtime::events::{Event, EventType, Reporter};
use kube::Resource;

fn warning(note: &str) -> Event {
    Event {
        type_: EventType::Warning,
        reason: "ProviderUnavailable".into(),
        note: Some(note.into()),
        action: "Reconcile".into(),
        secondary: None,
    }
}

#[tokio::test]
async fn a_repeated_event_is_counted_on_its_series_and_others_stay_apart() -> anyhow::Result<()> {
    let env = Env::without_operator(e2e::test_settings()).await?;
    let a = env
        .apply_group(&fixtures::group("a", "tencent", "Public", "name: A\n"))
        .await?;
    let b = env
        .apply_group(&fixtures::group("b", "tencent", "Public", "name: B\n"))
        .await?;
    let reporter = Reporter {
        controller: "chatgroup-operator".into(),
        instance: Some("replica-1".into()),
    };
    let publisher = EventPublisher::new(env.client.clone(), reporter);
    let (on_a, on_b) = (a.object_ref(&()), b.object_ref(&()));
    for _ in 0..3 {
        publisher.publish(&warning("timed out"), &on_a).await?;
    }
    publisher.publish(&warning("refused"), &on_a).await?;
    publisher.publish(&warning("timed out"), &on_b).await?;

    let events: Api<K8sEvent> = Api::namespaced(env.client.clone(), NAMESPACE);
    let listed = events.list(&ListParams::default()).await?.items;
    let about = |name: &str, note: &str| -> Vec<&K8sEvent> {
        listed
            .iter()
            .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
            .filter(|e| e.note.as_deref() == Some(note))
            .collect()
    };
    let repeated = about("a", "timed out");
    assert_eq!(repeated.len(), 1, "one object for a repeated Event");
    assert_eq!(repeated[0].series.as_ref().map(|s| s.count), Some(3));
    assert_eq!(repeated[0].reporting_instance.as_deref(), Some("replica-1"));
    assert_eq!(repeated[0].type_.as_deref(), Some("Warning"));
    assert_eq!(
        about("a", "refused").len(),
        1,
        "another note is another Event"
    );
    let on_b = about("b", "timed out");
    assert_eq!(on_b.len(), 1, "another object's Event is its own");
    assert!(on_b[0].series.is_none());
    Ok(())
}
