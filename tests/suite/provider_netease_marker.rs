//! NetEase lost-create recovery on the SDK shapes: paging the owner's joined teams
//! (`team_info_list`, `has_more`, `next_token`), narrowing by name and creation time,
//! reading `server_extension` with the batch get, and never answering "none" after an
//! incomplete search. Against the simulator, and a local fake for the shapes the
//! simulator never serves.

use std::time::Duration;

use chatgroup_operator::provider::{FailureClass, GroupProvider, GroupType, MarkerQuery};
use provider_sim::netease::JoinedTeamsOrder;
use provider_sim::{Fault, FaultKind};
use serde_json::{json, Value};

use crate::netease_support;
use netease_support::*;

use crate::fake;
use fake::{netease_ok, Fake, Seen};

fn query(marker: &str) -> MarkerQuery {
    MarkerQuery {
        group_type: GroupType::Advanced,
        owner: "alice".into(),
        marker: marker.into(),
        name: Some("Team".into()),
        created_not_before_ms: 0,
    }
}

fn ids(groups: &[chatgroup_operator::provider::ObservedGroup]) -> Vec<&str> {
    groups.iter().map(|g| g.id.as_str()).collect()
}

/// The team ids a batch get asked for.
fn asked(seen: &Seen) -> Vec<u64> {
    serde_json::from_str(&seen.query["team_ids"]).expect("team_ids is a JSON array of numbers")
}

#[tokio::test]
async fn several_pages_are_read_and_every_marked_team_is_returned_oldest_first() {
    for order in [JoinedTeamsOrder::NewestFirst, JoinedTeamsOrder::OldestFirst] {
        let (sim, client) = start().await;
        sim.set_joined_order(order);
        // 250 teams of alice's: 40 named like the lost create, two of those with its
        // marker (a duplicate create); teams of other names whose server_extension is
        // not a JSON object are never read.
        for i in 0..250u64 {
            let id = (10_000 + i).to_string();
            let (name, extension) = match i {
                17 | 203 => ("Team", marked("uid-dup")),
                30 => ("Elsewhere", "not json".to_string()),
                31 => ("Elsewhere", "[\"uid-dup\"]".to_string()),
                i if i % 6 == 0 => ("Team", marked(&format!("other-{i}"))),
                _ => ("Elsewhere", marked("uid-dup")),
            };
            seed_named(&sim, &id, "1", name, "alice", &extension);
        }
        let found = client
            .find_by_marker(&query("uid-dup"))
            .await
            .expect("search");
        assert_eq!(ids(&found), ["10017", "10203"], "{order:?}");
        assert!(found.iter().all(|t| t.marker.as_deref() == Some("uid-dup")));
        assert_eq!(sim.calls_to("joined_teams").len(), 3, "100 per page");
        let batches = sim.calls_to("batch_get");
        assert_eq!(batches.len(), 2, "45 candidates in batches of at most 30");
        for call in &batches {
            let asked: Vec<Value> =
                serde_json::from_str(query_param(&call.query, "team_ids").as_str()).unwrap();
            assert!(asked.len() <= 30);
        }
        let none = client
            .find_by_marker(&query("uid-absent"))
            .await
            .expect("search");
        assert!(none.is_empty(), "a complete search that found nothing");
    }
}

fn query_param(raw: &str, name: &str) -> String {
    url::form_urlencoded::parse(raw.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn super_teams_are_read_twenty_at_a_time() {
    let (sim, client) = start().await;
    for i in 0..25u64 {
        let extension = if i == 24 {
            marked("uid-s")
        } else {
            String::new()
        };
        seed_named(
            &sim,
            &(20_000 + i).to_string(),
            "2",
            "Team",
            "alice",
            &extension,
        );
    }
    let q = MarkerQuery {
        group_type: GroupType::Super,
        ..query("uid-s")
    };
    let found = client.find_by_marker(&q).await.expect("search");
    assert_eq!(ids(&found), ["20024"]);
    assert_eq!(sim.calls_to("batch_get").len(), 2);
    assert!(sim
        .calls_to("joined_teams")
        .iter()
        .all(|c| c.query.contains("team_type=2")));
}

#[tokio::test]
async fn teams_created_before_the_bound_are_not_candidates() {
    let (sim, client) = start().await;
    seed_named(&sim, "31", "1", "Team", "alice", &marked("uid-old"));
    let future = MarkerQuery {
        created_not_before_ms: 4_102_444_800_000, // 2100-01-01
        ..query("uid-old")
    };
    let found = client.find_by_marker(&future).await.expect("search");
    assert!(found.is_empty());
    assert!(sim.calls_to("batch_get").is_empty(), "nothing to read");
    let found = client
        .find_by_marker(&query("uid-old"))
        .await
        .expect("search");
    assert_eq!(ids(&found), ["31"]);
}

#[tokio::test]
async fn a_search_that_fails_on_page_two_is_an_error_not_an_empty_answer() {
    let (sim, client) = start().await;
    for i in 0..150u64 {
        seed_named(&sim, &(40_000 + i).to_string(), "1", "Team", "alice", "");
    }
    // Page 1 is held back long enough to arm a failure for the call after it.
    sim.inject(Fault::times(
        Some("joined_teams"),
        FaultKind::Latency(Duration::from_millis(400)),
        1,
    ));
    let search = tokio::spawn(async move {
        let result = client.find_by_marker(&query("uid-x")).await;
        (client, result)
    });
    tokio::time::sleep(Duration::from_millis(150)).await;
    sim.inject(Fault::times(Some("joined_teams"), FaultKind::Code(500), 1));
    let (client, result) = search.await.unwrap();
    let err = result.expect_err("an incomplete search is an error");
    assert_eq!(err.class, FailureClass::Transient);
    assert!(err.info.message.contains("page 2"), "{}", err.info.message);
    assert_eq!(sim.calls_to("joined_teams").len(), 2);
    assert!(sim.calls_to("batch_get").is_empty());

    sim.inject(Fault::times(Some("joined_teams"), FaultKind::Http502, 1));
    let err = client
        .find_by_marker(&query("uid-x"))
        .await
        .expect_err("a transport failure is an error too");
    assert_eq!(err.class, FailureClass::Transient);

    sim.inject(Fault::times(Some("batch_get"), FaultKind::Code(500), 1));
    let err = client
        .find_by_marker(&query("uid-x"))
        .await
        .expect_err("a failed candidate read is an error too");
    assert_eq!(err.class, FailureClass::Transient);
}

#[tokio::test]
async fn the_search_is_refused_without_owner_or_marker() {
    let (sim, client) = start().await;
    let no_owner = MarkerQuery {
        owner: " ".into(),
        ..query("uid")
    };
    let err = client.find_by_marker(&no_owner).await.expect_err("refused");
    assert_eq!(err.class, FailureClass::Terminal);
    let err = client
        .find_by_marker(&query(""))
        .await
        .expect_err("refused");
    assert_eq!(err.class, FailureClass::Terminal);
    let tencent_type = MarkerQuery {
        group_type: GroupType::Public,
        ..query("uid")
    };
    assert!(client.find_by_marker(&tencent_type).await.is_err());
    assert!(sim.calls().is_empty(), "nothing was sent");
}

// ---- shapes the simulator never serves: a local fake ----

fn entry(id: Value, name: &str, create_time: Option<i64>) -> Value {
    let mut e = json!({"team_id": id, "owner_account_id": "alice", "name": name,
        "member_count": 1, "members_limit": 200, "update_time": 1});
    if let Some(t) = create_time {
        e["create_time"] = json!(t);
    }
    e
}

fn team_info(id: u64, server_extension: &str, create_time: i64) -> Value {
    json!({"team_id": id, "team_type": 1, "name": "Team", "owner_account_id": "alice",
        "server_extension": server_extension, "create_time": create_time,
        "update_time": create_time, "members_limit": 200, "member_count": 1})
}

fn is_joined(seen: &Seen) -> bool {
    seen.path.ends_with("/actions/joined_teams")
}

#[tokio::test]
async fn candidates_are_narrowed_by_name_and_creation_time_and_ordered_oldest_first() {
    let fake = Fake::start(|seen| {
        if is_joined(seen) {
            return netease_ok(json!({"has_more": false, "next_token": "",
            "team_info_list": [
                entry(json!(1), "Team", Some(1_000)),      // too old
                entry(json!(2), "Team", Some(6_000)),      // candidate
                entry(json!(3), "Other", Some(7_000)),     // another name
                entry(json!("4"), "Team", None),           // no create_time: candidate
                entry(json!(5), "Team", Some(5_000)),      // at the bound: candidate
            ]}));
        }
        netease_ok(json!({"team_info_list": [
            team_info(2, &marked("uid-f"), 6_000),
            team_info(4, &marked("uid-f"), 5_500),
            team_info(5, "{\"a\":\"1\"}", 5_000),
        ], "invalid_tids": []}))
    })
    .await;
    let client = client_for(&fake.base_url);
    let q = MarkerQuery {
        created_not_before_ms: 5_000,
        ..query("uid-f")
    };
    let found = client.find_by_marker(&q).await.expect("search");
    assert_eq!(ids(&found), ["4", "2"], "oldest first by create_time");
    let batch = fake.seen_to("/im/v2.1/teams");
    assert_eq!(batch.len(), 1);
    let mut asked_ids = asked(&batch[0]);
    asked_ids.sort();
    assert_eq!(asked_ids, [2, 4, 5]);
    assert_eq!(batch[0].query["team_type"], "1");
}

#[tokio::test]
async fn a_page_without_its_fields_is_an_error_naming_the_field() {
    let cases: [(Value, &str); 5] = [
        (
            json!({"has_more": false, "next_token": ""}),
            "team_info_list",
        ),
        (json!({"next_token": "", "team_info_list": []}), "has_more"),
        (json!({"has_more": "no", "team_info_list": []}), "has_more"),
        (
            json!({"has_more": true, "team_info_list": []}),
            "next_token",
        ),
        (
            json!({"has_more": false, "team_info_list": [entry(json!("abc"), "Team", None)]}),
            "team_info_list[0].team_id",
        ),
    ];
    for (page, field) in cases {
        let page2 = page.clone();
        let fake = Fake::start(move |seen| {
            if seen.query.contains_key("page_token") {
                netease_ok(page2.clone())
            } else {
                netease_ok(json!({"has_more": true, "next_token": "t1",
                    "team_info_list": [entry(json!(1), "Team", None)]}))
            }
        })
        .await;
        let client = client_for(&fake.base_url);
        let err = client
            .find_by_marker(&query("uid"))
            .await
            .expect_err("a malformed page is an error");
        assert_eq!(err.class, FailureClass::Transient, "{field}");
        assert!(
            err.info.message.contains(field) && err.info.message.contains("page 2"),
            "{field}: {}",
            err.info.message
        );
        assert!(
            fake.seen_to("/im/v2.1/teams").is_empty(),
            "no candidate read"
        );
    }
}

#[tokio::test]
async fn the_page_cap_and_a_repeating_token_end_the_search_with_an_error() {
    let fake = Fake::start(|seen| {
        let n: u64 = seen
            .query
            .get("page_token")
            .map_or(0, |t| t.parse().unwrap());
        netease_ok(json!({"has_more": true, "next_token": (n + 1).to_string(),
            "team_info_list": [entry(json!(n + 1), "Team", None)]}))
    })
    .await;
    let client = client_for(&fake.base_url);
    let err = client
        .find_by_marker(&query("uid"))
        .await
        .expect_err("page cap");
    assert_eq!(err.class, FailureClass::Transient);
    assert!(
        err.info.message.contains("200 pages"),
        "{}",
        err.info.message
    );
    assert_eq!(fake.seen().len(), 200);
    assert!(fake.seen_to("/im/v2.1/teams").is_empty());

    let fake = Fake::start(|_| {
        netease_ok(json!({"has_more": true, "next_token": "same", "team_info_list": []}))
    })
    .await;
    let err = client_for(&fake.base_url)
        .find_by_marker(&query("uid"))
        .await
        .expect_err("a repeating token");
    assert!(err.info.message.contains("repeats"), "{}", err.info.message);
    assert_eq!(fake.seen().len(), 2);
}

#[tokio::test]
async fn batch_answers_of_the_wrong_shape_are_errors_and_gone_teams_are_skipped() {
    let joined = || {
        netease_ok(json!({"has_more": false, "team_info_list": [
            entry(json!(1), "Team", None), entry(json!(2), "Team", None)]}))
    };
    let bad: [(Value, &str); 4] = [
        (
            json!({"team_info_list": [team_info(1, "", 1)], "invalid_tids": ["x2"]}),
            "invalid_tids[0]",
        ),
        (json!({}), "team_info_list is missing"),
        (
            json!({"team_info_list": [team_info(1, "", 1)], "invalid_tids": []}),
            "team 2 is in neither",
        ),
        (
            json!({"team_info_list": [{"team_id": "two", "name": "Team"}], "invalid_tids": [1, 2]}),
            "team_info_list[0].team_id",
        ),
    ];
    for (answer, what) in bad {
        let fake = Fake::start(move |seen| {
            if is_joined(seen) {
                joined()
            } else {
                netease_ok(answer.clone())
            }
        })
        .await;
        let err = client_for(&fake.base_url)
            .find_by_marker(&query("uid-m"))
            .await
            .expect_err("a malformed batch answer is an error");
        assert_eq!(err.class, FailureClass::Transient);
        assert!(
            err.info.message.contains(what),
            "{what}: {}",
            err.info.message
        );
    }

    // A gone team is skipped; a team without a server_extension has no marker.
    let fake = Fake::start(move |seen| {
        if is_joined(seen) {
            netease_ok(json!({"has_more": false, "team_info_list": [
                entry(json!(1), "Team", None), entry(json!(3), "Team", None),
                entry(json!(4), "Team", None)]}))
        } else {
            netease_ok(json!({"team_info_list": [
                team_info(1, "", 1), team_info(4, &marked("uid-m"), 1)], "invalid_tids": [3]}))
        }
    })
    .await;
    let found = client_for(&fake.base_url)
        .find_by_marker(&query("uid-m"))
        .await
        .expect("search");
    assert_eq!(ids(&found), ["4"]);
}

/// A candidate (named like the lost create, created since it was sent) whose
/// server_extension cannot be read cannot be told apart from this create's team: the
/// search is an error naming the team and the field, never "none" (which would lead
/// to a second create on a guess).
#[tokio::test]
async fn a_candidate_whose_server_extension_cannot_be_read_makes_the_search_an_error() {
    let over_limit = json!({ "k": "v".repeat(1100) }).to_string();
    for (extension, what) in [
        ("uid-m", "is not a JSON object"),
        ("\"uid-m\"", "is not a JSON object"),
        ("[\"uid-m\"]", "is not a JSON object"),
        (over_limit.as_str(), "1024"),
    ] {
        let extension = extension.to_string();
        let fake = Fake::start(move |seen| {
            if is_joined(seen) {
                netease_ok(json!({"has_more": false, "team_info_list": [
                    entry(json!(1), "Team", None), entry(json!(2), "Team", None)]}))
            } else {
                netease_ok(json!({"team_info_list": [
                    team_info(1, &extension, 1), team_info(2, &marked("other"), 1)],
                    "invalid_tids": []}))
            }
        })
        .await;
        let err = client_for(&fake.base_url)
            .find_by_marker(&query("uid-m"))
            .await
            .expect_err("an unreadable candidate is an error");
        assert_eq!(err.class, FailureClass::Transient);
        let message = &err.info.message;
        assert!(message.contains("team 1"), "{message}");
        assert!(message.contains("server_extension"), "{message}");
        assert!(message.contains(what), "{what}: {message}");
    }
}

/// Pending creates of one owner share the joined-teams scan: searches asked while a
/// scan runs wait for it and share the next one, so six searches cost two scans, and
/// each still finds exactly its own team.
#[tokio::test]
async fn concurrent_searches_of_one_owner_share_the_joined_teams_scan() {
    let (sim, client) = start().await;
    for i in 0..250u64 {
        let id = (20_000 + i).to_string();
        let extension = if i < 6 {
            marked(&format!("uid-{i}"))
        } else {
            marked("someone-else")
        };
        seed_named(&sim, &id, "1", "Team", "alice", &extension);
    }
    sim.inject(Fault::always(
        Some("joined_teams"),
        FaultKind::Latency(Duration::from_millis(60)),
    ));
    let client = std::sync::Arc::new(client);
    let searches: Vec<_> = (0..6u64)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move { client.find_by_marker(&query(&format!("uid-{i}"))).await })
        })
        .collect();
    for (i, search) in searches.into_iter().enumerate() {
        let found = search.await.expect("task").expect("search");
        assert_eq!(ids(&found), [(20_000 + i).to_string().as_str()]);
    }
    let pages = sim.calls_to("joined_teams").len();
    assert!(
        pages <= 6,
        "six searches read {pages} pages of joined teams: more than two scans of three pages"
    );
}

/// A search for a late duplicate (no name: the spec may have been renamed since) decides
/// no create, so it passes over teams whose server_extension cannot be read.
#[tokio::test]
async fn a_nameless_search_passes_over_unreadable_extensions() {
    let fake = Fake::start(move |seen| {
        if is_joined(seen) {
            netease_ok(json!({"has_more": false, "team_info_list": [
                entry(json!(1), "Renamed", None), entry(json!(2), "Other", None)]}))
        } else {
            netease_ok(json!({"team_info_list": [
                team_info(1, "plain text", 1), team_info(2, &marked("uid-m"), 1)],
                "invalid_tids": []}))
        }
    })
    .await;
    let nameless = MarkerQuery {
        name: None,
        ..query("uid-m")
    };
    let found = client_for(&fake.base_url)
        .find_by_marker(&nameless)
        .await
        .expect("search");
    assert_eq!(ids(&found), ["2"]);
}
