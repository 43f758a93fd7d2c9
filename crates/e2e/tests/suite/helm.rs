//! The Helm chart, checked with Helm's own code: `helm lint`, values.schema.json, and
//! an install into the Kubernetes API simulator whose objects are read back with
//! kube-rs. Helm runs through `charts/chatgroup-operator/tests/helm_driver.py`
//! (the helm-sdkpy bindings, installed by `scripts/install-test-tools.sh`).

#[path = "helm/rbac.rs"]
pub mod rbac;
#[path = "helm/support.rs"]
pub mod support;

use std::collections::BTreeSet;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, Service};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ApiResource, DynamicObject, ListParams, PostParams};
use kube_sim::RequestRecord;
use serde_json::json;

use rbac::{check_request_log, rendered_rules};
use rbac::{
    claim_rules, lease_rules, ledger_rules, operator_rules, operator_rules_without_secrets,
    rule_set, secret_rules,
};
use support::{
    chart_dir, container_env, copy_dir, crds_in, create_namespace, helm, helm_install, install,
    start_sim, workspace, TempDir, FULLNAME, RELEASE_NS,
};

#[tokio::test]
async fn a_partial_request_log_leaves_granted_permissions_unused() {
    let rules = rendered_rules(json!({})).await;
    let log = [RequestRecord {
        verb: "watch".into(),
        group: "im.chatgroup.dev".into(),
        version: "v1alpha1".into(),
        resource: "chatgroups".into(),
        subresource: None,
        namespace: None,
        name: None,
        code: 200,
        field_manager: None,
        user: None,
    }];
    let report = check_request_log(&log, &rules);
    assert!(report.denied.is_empty(), "{report:?}");
    assert!(
        report
            .unused
            .contains(&"create coordination.k8s.io/leases".to_string()),
        "{report:?}"
    );
    assert!(!report
        .unused
        .contains(&"watch im.chatgroup.dev/chatgroups".to_string()));
}

#[tokio::test]
async fn the_chart_passes_helm_lint() {
    let chart = chart_dir();
    let result = helm(&["lint", chart.to_str().expect("utf-8 path")]).await;
    let result = result.unwrap_or_else(|e| panic!("helm lint: {e}"));
    assert_eq!(result["charts"], 1, "{result}");
}

#[tokio::test]
async fn helm_lint_fails_when_values_break_the_schema() {
    let dir = TempDir::new("lint");
    let chart = dir.0.join("chatgroup-operator");
    copy_dir(&chart_dir(), &chart);
    let values = std::fs::read_to_string(chart.join("values.yaml")).expect("values");
    assert!(values.contains("\nreplicas: 1\n"));
    std::fs::write(
        chart.join("values.yaml"),
        values.replace("\nreplicas: 1\n", "\nreplicas: \"two\"\n"),
    )
    .expect("write values");
    let error = helm(&["lint", chart.to_str().expect("utf-8 path")])
        .await
        .expect_err("lint must fail");
    assert!(error.contains("values.yaml"), "{error}");
}

#[tokio::test]
async fn install_refuses_values_the_schema_rejects() {
    let (_sim, _client, dir) = start_sim().await;
    for (values, at) in [
        (json!({"replicas": "two"}), "/replicas"),
        (json!({"log": {"format": "xml"}}), "/log/format"),
        (json!({"resyncInterval": "often"}), "/resyncInterval"),
        (json!({"workerThreads": 0}), "/workerThreads"),
        (json!({"imageTag": "latest"}), "imageTag"),
    ] {
        let error = helm_install(&dir, values.clone())
            .await
            .expect_err("schema must reject");
        assert!(
            error.contains("schema") && error.contains(at),
            "{values}: {error}"
        );
    }
}

#[tokio::test]
async fn more_than_one_replica_without_leader_election_is_refused() {
    let (_sim, _client, dir) = start_sim().await;
    let values = json!({"replicas": 2, "leaderElection": {"enabled": false}});
    let error = helm_install(&dir, values).await.expect_err("must refuse");
    assert!(error.contains("leaderElection.enabled"), "{error}");
}

#[tokio::test]
async fn sharding_runs_a_stateful_set_with_one_pod_per_shard_instead_of_the_deployment() {
    let values = json!({"sharding": {"shards": 3}, "concurrency": 16});
    let env = install(values).await;
    let deployments = Api::<Deployment>::namespaced(env.client.clone(), RELEASE_NS);
    assert!(
        deployments.get_opt(FULLNAME).await.expect("read").is_none(),
        "no Deployment beside the shards"
    );
    let sts = Api::<StatefulSet>::namespaced(env.client.clone(), RELEASE_NS)
        .get(FULLNAME)
        .await
        .expect("statefulset");
    let spec = sts.spec.expect("spec");
    assert_eq!(spec.replicas, Some(3));
    assert_eq!(spec.pod_management_policy.as_deref(), Some("Parallel"));
    let pod = spec.template.spec.expect("pod");
    let env_map = container_env(&pod.containers[0].env);
    for (name, value) in [
        ("CHATGROUP_TOTAL_SHARDS", "3"),
        ("CHATGROUP_LEADER_ELECT", "true"),
        ("CHATGROUP_LEASE_NAME", FULLNAME),
        ("CHATGROUP_CONCURRENCY", "16"),
    ] {
        assert_eq!(env_map.get(name).map(String::as_str), Some(value), "{name}");
    }
    // The shard index comes from the pod name's ordinal, not from a value.
    assert!(!env_map.contains_key("CHATGROUP_SHARD"));

    let unsharded = install(json!({})).await;
    let deployments = Api::<Deployment>::namespaced(unsharded.client.clone(), RELEASE_NS);
    let deploy = deployments.get(FULLNAME).await.expect("deployment");
    let pod = deploy.spec.expect("spec").template.spec.expect("pod");
    assert!(!container_env(&pod.containers[0].env).contains_key("CHATGROUP_TOTAL_SHARDS"));
    let sets = Api::<StatefulSet>::namespaced(unsharded.client.clone(), RELEASE_NS);
    assert!(sets.get_opt(FULLNAME).await.expect("read").is_none());
}

#[tokio::test]
async fn sharding_with_more_than_one_replica_is_refused() {
    let (_sim, _client, dir) = start_sim().await;
    let values = json!({"replicas": 2, "sharding": {"shards": 3}});
    let error = helm_install(&dir, values).await.expect_err("must refuse");
    assert!(error.contains("replicas"), "{error}");
    let values = json!({"sharding": {"shards": 0}});
    let error = helm_install(&dir, values).await.expect_err("must refuse");
    assert!(error.contains("shards"), "{error}");
}

#[tokio::test]
async fn watching_all_namespaces_grants_exactly_the_operator_rules_cluster_wide() {
    let env = install(json!({})).await;
    let lp = ListParams::default();
    let roles = Api::<ClusterRole>::all(env.client.clone())
        .list(&lp)
        .await
        .expect("list");
    let by_name = |name: String| {
        let role = roles
            .items
            .iter()
            .find(|r| r.metadata.name == Some(name.clone()));
        rule_set(&role.unwrap_or_else(|| panic!("ClusterRole {name}")).rules)
    };
    assert_eq!(roles.items.len(), 2);
    assert_eq!(by_name(FULLNAME.to_string()), operator_rules());
    assert_eq!(by_name(format!("{FULLNAME}-claims")), claim_rules());
    let bindings = Api::<ClusterRoleBinding>::all(env.client.clone())
        .list(&lp)
        .await
        .expect("list");
    let binding = bindings
        .items
        .iter()
        .find(|b| b.metadata.name.as_deref() == Some(FULLNAME))
        .expect("operator binding");
    assert_eq!(binding.role_ref.name, FULLNAME);
    let subjects = binding.subjects.clone().unwrap_or_default();
    assert_eq!(
        (subjects[0].name.as_str(), subjects[0].namespace.as_deref()),
        (FULLNAME, Some(RELEASE_NS))
    );

    let roles = Api::<Role>::all(env.client.clone())
        .list(&lp)
        .await
        .expect("list");
    let names: Vec<_> = roles
        .items
        .iter()
        .map(|r| (r.metadata.namespace.clone(), r.metadata.name.clone()))
        .collect();
    let release_ns = Some(RELEASE_NS.to_string());
    assert_eq!(
        names,
        [
            (
                release_ns.clone(),
                Some(format!("{FULLNAME}-disband-ledger"))
            ),
            (release_ns, Some(format!("{FULLNAME}-leader-election"))),
        ]
    );
    assert_eq!(rule_set(&roles.items[0].rules), ledger_rules());
    assert_eq!(rule_set(&roles.items[1].rules), lease_rules());
    let rb = Api::<RoleBinding>::namespaced(env.client.clone(), RELEASE_NS)
        .get(&format!("{FULLNAME}-leader-election"))
        .await
        .expect("lease binding");
    assert_eq!(rb.subjects.unwrap_or_default()[0].name, FULLNAME);
}

#[tokio::test]
async fn secret_namespaces_confine_secret_reads_to_a_role_in_each_listed_namespace() {
    let (_sim, client, dir) = start_sim().await;
    for namespace in ["creds-a", "creds-b"] {
        create_namespace(&client, namespace).await;
    }
    let values = json!({
        "rbac": {"secretNamespaces": ["creds-a", "creds-b"]},
        "leaderElection": {"enabled": false},
    });
    helm_install(&dir, values).await.expect("install");
    let lp = ListParams::default();
    let cluster_roles = Api::<ClusterRole>::all(client.clone())
        .list(&lp)
        .await
        .expect("list")
        .items;
    let main = cluster_roles
        .iter()
        .find(|r| r.metadata.name.as_deref() == Some(FULLNAME))
        .expect("the operator's ClusterRole");
    assert_eq!(rule_set(&main.rules), operator_rules_without_secrets());
    for namespace in ["creds-a", "creds-b"] {
        let name = format!("{FULLNAME}-secrets");
        let role = Api::<Role>::namespaced(client.clone(), namespace)
            .get(&name)
            .await
            .expect("a Role in each listed namespace");
        assert_eq!(rule_set(&role.rules), secret_rules(), "{namespace}");
        let binding = Api::<RoleBinding>::namespaced(client.clone(), namespace)
            .get(&name)
            .await
            .expect("its binding");
        let subject = &binding.subjects.unwrap_or_default()[0];
        assert_eq!(
            (subject.name.as_str(), subject.namespace.as_deref()),
            (FULLNAME, Some(RELEASE_NS))
        );
    }
    let elsewhere = Api::<Role>::all(client)
        .list(&lp)
        .await
        .expect("list")
        .items
        .into_iter()
        .filter(|r| {
            rule_set(&r.rules)
                .iter()
                .any(|(_, res, _, _)| res.contains("secrets"))
        })
        .count();
    assert_eq!(
        elsewhere, 2,
        "Secrets are readable in the listed namespaces only"
    );
}

#[tokio::test]
async fn watching_one_namespace_grants_a_role_there_and_only_claims_cluster_wide() {
    let (_sim, client, dir) = start_sim().await;
    create_namespace(&client, "chat").await;
    let values = json!({"watchNamespace": "chat", "leaderElection": {"enabled": false}});
    helm_install(&dir, values).await.expect("install");
    let lp = ListParams::default();
    let cluster_roles = Api::<ClusterRole>::all(client.clone())
        .list(&lp)
        .await
        .expect("list")
        .items;
    assert_eq!(cluster_roles.len(), 1, "only the claims are cluster-wide");
    assert_eq!(rule_set(&cluster_roles[0].rules), claim_rules());
    let cluster_bindings = Api::<ClusterRoleBinding>::all(client.clone())
        .list(&lp)
        .await
        .expect("list")
        .items;
    assert_eq!(cluster_bindings.len(), 1);
    assert_eq!(
        cluster_bindings[0].role_ref.name,
        format!("{FULLNAME}-claims")
    );
    let roles = Api::<Role>::all(client.clone())
        .list(&lp)
        .await
        .expect("list");
    let names: Vec<_> = roles
        .items
        .iter()
        .map(|r| (r.metadata.namespace.as_deref(), r.metadata.name.as_deref()))
        .collect();
    let ledger = format!("{FULLNAME}-disband-ledger");
    assert_eq!(
        names,
        [
            (Some("chat"), Some(FULLNAME)),
            (Some(RELEASE_NS), Some(ledger.as_str()))
        ],
        "no leader-election Role when it is off"
    );
    assert_eq!(rule_set(&roles.items[0].rules), operator_rules());
    assert_eq!(rule_set(&roles.items[1].rules), ledger_rules());
    let rb = Api::<RoleBinding>::namespaced(client.clone(), "chat")
        .get(FULLNAME)
        .await
        .expect("binding");
    let subject = &rb.subjects.unwrap_or_default()[0];
    assert_eq!(
        (subject.name.as_str(), subject.namespace.as_deref()),
        (FULLNAME, Some(RELEASE_NS))
    );

    let deploy = Api::<Deployment>::namespaced(client, RELEASE_NS)
        .get(FULLNAME)
        .await
        .expect("deployment");
    let spec = deploy.spec.expect("spec");
    assert_eq!(
        spec.strategy.and_then(|s| s.type_).as_deref(),
        Some("Recreate")
    );
    let env = container_env(&spec.template.spec.expect("pod").containers[0].env);
    assert_eq!(
        env.get("CHATGROUP_NAMESPACE").map(String::as_str),
        Some("chat")
    );
    assert_eq!(
        env.get("CHATGROUP_LEADER_ELECT").map(String::as_str),
        Some("false")
    );
    assert!(!env.contains_key("CHATGROUP_LEASE_NAME"));
}

#[tokio::test]
async fn the_deployment_runs_restricted_with_probes_and_the_configured_flags() {
    let values = json!({
        "concurrency": 8, "workerThreads": 2, "resyncInterval": "5m", "maxDisbandsPerHour": 120, "log": {"level": "debug", "format": "text"},
        "metrics": {"port": 9090}, "terminationGracePeriodSeconds": 90, "leaderElection": {"enabled": true, "leaseDuration": "20s"}, "image": {"tag": "1.2.3"}
    });
    let env = install(values).await;
    let deploy = Api::<Deployment>::namespaced(env.client.clone(), RELEASE_NS)
        .get(FULLNAME)
        .await
        .expect("deployment");
    let pod = deploy.spec.expect("spec").template.spec.expect("pod spec");
    assert_eq!(pod.service_account_name.as_deref(), Some(FULLNAME));
    assert_eq!(pod.termination_grace_period_seconds, Some(90));
    let psc = pod.security_context.expect("pod security context");
    assert_eq!(
        (psc.run_as_non_root, psc.run_as_user),
        (Some(true), Some(65532))
    );
    assert_eq!(
        psc.seccomp_profile.map(|p| p.type_).as_deref(),
        Some("RuntimeDefault")
    );

    let c = &pod.containers[0];
    assert_eq!(
        c.image.as_deref(),
        Some("ghcr.io/chatgroup-dev/chatgroup-operator:1.2.3")
    );
    assert_eq!(c.args.clone().unwrap_or_default(), ["run"]);
    let sc = c
        .security_context
        .clone()
        .expect("container security context");
    assert_eq!(sc.allow_privilege_escalation, Some(false));
    assert_eq!(sc.read_only_root_filesystem, Some(true));
    assert_eq!(
        (sc.run_as_non_root, sc.run_as_user),
        (Some(true), Some(65532))
    );
    assert_eq!(
        sc.capabilities.and_then(|c| c.drop),
        Some(vec!["ALL".to_string()])
    );
    assert_eq!(
        sc.seccomp_profile.map(|p| p.type_).as_deref(),
        Some("RuntimeDefault")
    );

    let probe_path = |p: &Option<k8s_openapi::api::core::v1::Probe>| {
        let get = p
            .as_ref()
            .and_then(|p| p.http_get.clone())
            .expect("httpGet probe");
        (
            get.path.unwrap_or_default(),
            serde_json::to_value(get.port).expect("port"),
        )
    };
    assert_eq!(
        probe_path(&c.liveness_probe),
        ("/healthz".to_string(), json!("metrics"))
    );
    assert_eq!(
        probe_path(&c.readiness_probe),
        ("/readyz".to_string(), json!("metrics"))
    );
    let port = &c.ports.clone().unwrap_or_default()[0];
    assert_eq!(
        (port.name.as_deref(), port.container_port),
        (Some("metrics"), 9090)
    );

    let env_map = container_env(&c.env);
    for (name, value) in [
        ("POD_NAMESPACE", "fieldRef:metadata.namespace"),
        ("CHATGROUP_LEASE_NAMESPACE", "fieldRef:metadata.namespace"),
        ("CHATGROUP_LEASE_NAME", FULLNAME),
        ("CHATGROUP_LEASE_DURATION", "20s"),
        ("CHATGROUP_LEADER_ELECT", "true"),
        ("CHATGROUP_METRICS_ADDR", "0.0.0.0:9090"),
        ("CHATGROUP_CONCURRENCY", "8"),
        ("CHATGROUP_WORKER_THREADS", "2"),
        ("CHATGROUP_RESYNC_INTERVAL", "5m"),
        ("CHATGROUP_MAX_DISBANDS_PER_HOUR", "120"),
        ("CHATGROUP_LOG", "debug"),
        ("CHATGROUP_LOG_FORMAT", "text"),
    ] {
        assert_eq!(env_map.get(name).map(String::as_str), Some(value), "{name}");
    }
    assert!(
        !env_map.contains_key("CHATGROUP_NAMESPACE"),
        "all namespaces by default"
    );

    let svc = Api::<Service>::namespaced(env.client.clone(), RELEASE_NS)
        .get(&format!("{FULLNAME}-metrics"))
        .await
        .expect("metrics service");
    let sp = &svc.spec.expect("spec").ports.unwrap_or_default()[0];
    assert_eq!((sp.name.as_deref(), sp.port), (Some("metrics"), 8080));
    assert!(env
        .sim
        .requests()
        .iter()
        .any(|r| r.resource == "deployments" && r.verb == "create"));
}

#[test]
fn the_chart_carries_an_exact_copy_of_the_generated_crds() {
    let generated =
        std::fs::read_to_string(workspace().join("crds/crds.yaml")).expect("crds/crds.yaml");
    let in_chart = std::fs::read_to_string(chart_dir().join("crds/crds.yaml")).expect("chart crds");
    assert!(
        generated == in_chart,
        "charts/chatgroup-operator/crds/crds.yaml differs from crds/crds.yaml: cp crds/crds.yaml charts/chatgroup-operator/crds/"
    );
}

#[tokio::test]
async fn helm_installs_the_generated_crds() {
    let env = install(json!({})).await;
    let generated =
        std::fs::read_to_string(workspace().join("crds/crds.yaml")).expect("crds/crds.yaml");
    let expected = crds_in(&generated);
    let served = Api::<CustomResourceDefinition>::all(env.client.clone())
        .list(&ListParams::default())
        .await
        .expect("list");
    let names: BTreeSet<_> = served
        .items
        .iter()
        .filter_map(|c| c.metadata.name.clone())
        .collect();
    assert_eq!(names, expected.keys().cloned().collect());
    for crd in served.items {
        let name = crd.metadata.name.clone().expect("name");
        let spec = serde_json::to_value(&crd.spec).expect("spec");
        assert_eq!(spec, expected[&name]["spec"], "{name}");
    }
}

#[tokio::test]
async fn the_service_monitor_is_created_when_enabled() {
    let (_sim, client, dir) = start_sim().await;
    let monitors = monitoring_api(&client, "ServiceMonitor", "servicemonitors").await;
    let values = json!({"metrics": {"serviceMonitor": {"enabled": true, "interval": "15s", "labels": {"release": "prom"}}}});
    helm_install(&dir, values).await.expect("install");
    let list = monitors.list(&ListParams::default()).await.expect("list");
    assert_eq!(list.items.len(), 1);
    let monitor = &list.items[0];
    assert_eq!(
        monitor
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("release"))
            .map(String::as_str),
        Some("prom")
    );
    let endpoint = &monitor.data["spec"]["endpoints"][0];
    assert_eq!(
        (
            endpoint["port"].as_str(),
            endpoint["path"].as_str(),
            endpoint["interval"].as_str()
        ),
        (Some("metrics"), Some("/metrics"), Some("15s"))
    );
}

#[tokio::test]
async fn the_prometheus_rule_carries_exactly_the_checked_alerts_when_enabled() {
    let (_sim, client, dir) = start_sim().await;
    let rules = monitoring_api(&client, "PrometheusRule", "prometheusrules").await;
    let values =
        json!({"metrics": {"prometheusRule": {"enabled": true, "labels": {"release": "prom"}}}});
    helm_install(&dir, values).await.expect("install");
    let list = rules.list(&ListParams::default()).await.expect("list");
    assert_eq!(list.items.len(), 1);
    let rule = &list.items[0];
    let labels = rule.metadata.labels.clone().unwrap_or_default();
    assert_eq!(labels.get("release").map(String::as_str), Some("prom"));
    let checked = std::fs::read_to_string(chart_dir().join("files/alerts.yaml")).expect("rules");
    let checked: serde_json::Value = serde_norway::from_str(&checked).expect("YAML");
    assert_eq!(
        rule.data["spec"], checked,
        "the object holds the promtool-checked rules"
    );
}

#[tokio::test]
async fn the_grafana_dashboard_is_a_labelled_config_map_when_enabled() {
    let (_sim, client, dir) = start_sim().await;
    let configmaps = Api::<ConfigMap>::namespaced(client.clone(), RELEASE_NS);
    helm_install(&dir, json!({})).await.expect("install");
    let name = format!("{FULLNAME}-dashboard");
    assert!(
        configmaps.get_opt(&name).await.expect("get").is_none(),
        "off by default"
    );

    let (_sim, client, dir) = start_sim().await;
    let configmaps = Api::<ConfigMap>::namespaced(client.clone(), RELEASE_NS);
    helm_install(&dir, json!({"grafanaDashboard": {"enabled": true}}))
        .await
        .expect("install");
    let map = configmaps
        .get(&name)
        .await
        .expect("the dashboard ConfigMap");
    let labels = map.metadata.labels.unwrap_or_default();
    assert_eq!(
        labels.get("grafana_dashboard").map(String::as_str),
        Some("1")
    );
    let json = map.data.unwrap_or_default()["chatgroup-operator.json"].clone();
    let shipped = std::fs::read_to_string(chart_dir().join("files/dashboard.json")).expect("file");
    let parsed: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
    assert_eq!(
        parsed,
        serde_json::from_str::<serde_json::Value>(&shipped).unwrap()
    );
    assert_eq!(parsed["title"], "chatgroup-operator");
}

/// Every request the operator makes in a representative end-to-end run (both
/// providers; create, update, a retried failure, credential rotation, disband,
/// delete; leader election on) is allowed by the chart's default rules, and every
/// permission the chart grants is used.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operators_requests_in_an_end_to_end_run_are_exactly_what_the_chart_grants() {
    use std::time::Duration;

    use chatgroup_operator::controller::LeaderElection;
    use e2e::{fixtures, ready_with, Env, Op, Side, OPERATOR_USER};
    use provider_sim::{Fault, FaultKind};

    let rules = rendered_rules(json!({})).await;
    let mut settings = e2e::test_settings();
    // The chart's default budget: the ledger's ConfigMap is used.
    settings.max_disbands_per_hour = std::num::NonZeroU32::new(30);
    settings.leader_election = Some(LeaderElection {
        lease_name: "chatgroup-operator".into(),
        lease_namespace: "default".into(),
        lease_duration: Duration::from_secs(15),
        ..LeaderElection::default()
    });
    let env = Env::start_with(settings).await.expect("environment");
    let wait = Duration::from_secs(30);
    for side in Side::BOTH {
        let name = format!("rbac-{side:?}").to_lowercase();
        let owner = if side == Side::Netease {
            "owner: alice\n"
        } else {
            ""
        };
        let manifest = |title: &str| {
            let spec = format!("name: {title}\n{owner}");
            fixtures::group(&name, side.provider(), side.group_type(), &spec)
        };
        // Two transient failures in a row: a Warning Event, then the same one again
        // (published as a patch of the first).
        env.inject(
            side,
            Fault::times(
                Some(&Env::api_name(side, Op::Create)),
                FaultKind::Http502,
                2,
            ),
        );
        env.apply_group(&manifest("First")).await.expect("apply");
        env.wait_group(&name, wait, |g| ready_with(g, "Available"))
            .await
            .expect("ready");
        env.apply_group(&manifest("Second")).await.expect("update");
        let generation = env
            .groups()
            .get(&name)
            .await
            .expect("get")
            .metadata
            .generation;
        env.wait_group(&name, wait, |g| {
            ready_with(g, "Available")
                && g.status.as_ref().and_then(|s| s.observed_generation) == generation
        })
        .await
        .expect("updated");
        env.delete_group(&name).await.expect("delete");
        env.wait_gone(&name, wait).await.expect("gone");
    }
    // A claim left by a ChatGroup that no longer exists is taken over.
    take_over_a_stale_claim(&env, wait).await;
    let log: Vec<RequestRecord> = env
        .kube
        .requests()
        .into_iter()
        .filter(|r| r.user.as_deref() == Some(OPERATOR_USER))
        .collect();
    assert!(
        !log.is_empty(),
        "the operator's requests are attributed to it"
    );
    let report = check_request_log(&log, &rules);
    assert!(report.is_exact(), "{report:#?}");
}

/// Leaves a claim whose holder is gone on a Tencent id, then manages that id.
async fn take_over_a_stale_claim(env: &e2e::Env, wait: std::time::Duration) {
    use chatgroup_operator::api::{ChatGroupClaim, ChatGroupClaimSpec, ClaimHolder};
    use e2e::{fixtures, ready_with, Side};

    let id = "rbac-stale-claim";
    let app_id = provider_sim::TencentSimConfig::default()
        .sdk_app_id
        .to_string();
    let spec = ChatGroupClaimSpec {
        provider: "tencent".into(),
        app_id: app_id.clone(),
        group_id: id.into(),
        holder: ClaimHolder {
            namespace: e2e::NAMESPACE.into(),
            name: "deleted-long-ago".into(),
            uid: "0f0f0f0f-0000-4000-8000-000000000000".into(),
        },
    };
    let claim_name = ChatGroupClaimSpec::object_name("tencent", &app_id, id);
    Api::<ChatGroupClaim>::all(env.client.clone())
        .create(
            &PostParams::default(),
            &ChatGroupClaim::new(&claim_name, spec),
        )
        .await
        .expect("stale claim");
    let manifest = fixtures::group(
        "rbac-stale",
        Side::Tencent.provider(),
        Side::Tencent.group_type(),
        &format!("name: Stale\ngroupId: {id}\n"),
    );
    env.apply_group(&manifest).await.expect("apply");
    env.wait_group("rbac-stale", wait, |g| ready_with(g, "Available"))
        .await
        .expect("ready on the claimed id");
    env.delete_group("rbac-stale").await.expect("delete");
    env.wait_gone("rbac-stale", wait).await.expect("gone");
}

/// Installs a Prometheus Operator CRD (`monitoring.coreos.com/v1`, any content) and
/// returns an API for its objects.
async fn monitoring_api(client: &kube::Client, kind: &str, plural: &str) -> Api<DynamicObject> {
    let crd: CustomResourceDefinition = serde_json::from_value(json!({
        "metadata": {"name": format!("{plural}.monitoring.coreos.com")},
        "spec": {"group": "monitoring.coreos.com", "scope": "Namespaced",
            "names": {"plural": plural, "singular": kind.to_lowercase(), "kind": kind},
            "versions": [{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema":
                {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}
    }))
    .expect("crd");
    Api::<CustomResourceDefinition>::all(client.clone())
        .create(&PostParams::default(), &crd)
        .await
        .expect("create CRD");
    let resource = ApiResource {
        group: "monitoring.coreos.com".into(),
        version: "v1".into(),
        api_version: "monitoring.coreos.com/v1".into(),
        kind: kind.into(),
        plural: plural.into(),
    };
    Api::all_with(client.clone(), &resource)
}
