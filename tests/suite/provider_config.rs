//! Configuration and attribute validation: every rejection names its field.

use std::collections::BTreeMap;
use std::sync::Arc;

use chatgroup_operator::provider::validate::validate_changes;
use chatgroup_operator::provider::{
    always_open, build, validate_attributes, validate_tencent_group_id,
    validate_tencent_group_id_to_adopt, AttributeChanges, ConfigError, GroupAttributes, GroupType,
    NeteaseConfig, NeteaseEndpoint, NeteaseRegion, ProviderConfig, ProviderKind, RateBudget,
    RateConfig, Secret, TencentConfig, TencentEndpoint, TencentRegion,
};

/// Sets one attribute to a value, for the length-limit tables.
type SetField = fn(&mut GroupAttributes, String);

fn tencent() -> TencentConfig {
    TencentConfig::new(1_400_000_000, Secret::new("k".repeat(64)))
}

fn netease() -> NeteaseConfig {
    NeteaseConfig::new("app-key", Secret::new("app-secret"))
}

fn field_of(result: Result<(), ConfigError>) -> String {
    result.expect_err("must be rejected").field
}

#[test]
fn defaults_are_the_documented_ones() {
    let config = tencent();
    assert_eq!(config.identifier, "administrator");
    assert_eq!(config.base_url(), "https://console.tim.qq.com");
    assert_eq!(config.timeout, std::time::Duration::from_secs(5));
    assert_eq!(config.usersig_ttl, std::time::Duration::from_secs(86_400));
    assert_eq!(
        config.rate,
        RateConfig {
            requests_per_second: 200,
            burst: 1
        }
    );
    assert_eq!(netease().base_url(), "https://open.yunxinapi.com");
    assert_eq!(netease().rate.requests_per_second, 100);
    assert!(config.validate().is_ok() && netease().validate().is_ok());
}

#[test]
fn regions_parse_case_insensitively_and_unknown_ones_list_the_allowed() {
    assert_eq!(
        TencentRegion::parse("Singapore").unwrap(),
        TencentRegion::Singapore
    );
    assert_eq!(
        TencentRegion::parse("silicon-valley").unwrap(),
        TencentRegion::SiliconValley
    );
    assert_eq!(
        TencentRegion::parse("JAKARTA").unwrap().host(),
        "adminapiidn.im.qcloud.com"
    );
    let err = TencentRegion::parse("mars").unwrap_err();
    assert_eq!(err.field, "tencent.region");
    for allowed in [
        "china",
        "singapore",
        "seoul",
        "tokyo",
        "frankfurt",
        "siliconvalley",
        "jakarta",
    ] {
        assert!(err.message.contains(allowed), "{err}");
    }
    assert_eq!(
        NeteaseRegion::parse("SINGAPORE").unwrap().base_url(),
        "https://open-sg.yunxinapi.com"
    );
    let err = NeteaseRegion::parse("tokyo").unwrap_err();
    assert_eq!(err.field, "netease.region");
    assert!(err.message.contains("china, singapore"));
}

#[test]
fn endpoints_must_be_https_except_on_loopback() {
    let mut config = tencent();
    for ok in [
        "https://example.com",
        "http://127.0.0.1:8080",
        "http://127.1.2.3:1",
        "http://localhost:9",
    ] {
        config.endpoint = TencentEndpoint::Url(ok.into());
        assert!(config.validate().is_ok(), "{ok}");
    }
    for bad in [
        "http://example.com",
        "http://10.0.0.1",
        "ftp://127.0.0.1",
        "not a url",
        "https://h/?q=1",
    ] {
        config.endpoint = TencentEndpoint::Url(bad.into());
        let err = config.validate().unwrap_err();
        assert_eq!(err.field, "tencent.endpoint", "{bad}");
    }
    config.endpoint = TencentEndpoint::Url("http://192.168.1.1".into());
    assert!(config
        .validate()
        .unwrap_err()
        .message
        .contains("127.0.0.0/8 or localhost"));
    let mut config = netease();
    config.endpoint = NeteaseEndpoint::Url("http://open.yunxinapi.com".into());
    assert_eq!(field_of(config.validate()), "netease.endpoint");
}

#[test]
fn empty_credentials_and_a_zero_app_id_are_rejected_by_field() {
    let mut c = tencent();
    c.sdk_app_id = 0;
    assert_eq!(field_of(c.validate()), "tencent.sdkAppId");
    let mut c = tencent();
    c.identifier = " ".into();
    assert_eq!(field_of(c.validate()), "tencent.identifier");
    let mut c = tencent();
    c.secret_key = Secret::new("");
    assert_eq!(field_of(c.validate()), "tencent.secretKey");
    let mut n = netease();
    n.app_key = String::new();
    assert_eq!(field_of(n.validate()), "netease.appKey");
    let mut n = netease();
    n.app_secret = Secret::new("");
    assert_eq!(field_of(n.validate()), "netease.appSecret");
    let mut n = netease();
    n.rate.requests_per_second = 0;
    assert_eq!(field_of(n.validate()), "rateLimit.requestsPerSecond");
}

#[test]
fn build_validates_and_checks_the_budget_kind() {
    let budget = Arc::new(RateBudget::new(
        ProviderKind::Tencent,
        RateConfig::TENCENT_DEFAULT,
    ));
    let client = build(
        ProviderConfig::Tencent(tencent()),
        budget.clone(),
        always_open(),
    )
    .expect("valid config");
    assert_eq!(client.kind(), ProviderKind::Tencent);
    assert_eq!(client.max_batch(GroupType::Public), 50);
    let err = build(
        ProviderConfig::Netease(netease()),
        budget.clone(),
        always_open(),
    )
    .unwrap_err();
    assert_eq!(err.field, "rateLimit");
    let mut bad = tencent();
    bad.sdk_app_id = 0;
    assert_eq!(
        build(ProviderConfig::Tencent(bad), budget, always_open())
            .unwrap_err()
            .field,
        "tencent.sdkAppId"
    );
    let nbudget = Arc::new(RateBudget::new(
        ProviderKind::NetEase,
        RateConfig::NETEASE_DEFAULT,
    ));
    let client =
        build(ProviderConfig::Netease(netease()), nbudget, always_open()).expect("valid config");
    assert_eq!(
        (
            client.max_batch(GroupType::Advanced),
            client.max_batch(GroupType::Super)
        ),
        (30, 20)
    );
}

fn attrs(name: &str) -> GroupAttributes {
    GroupAttributes {
        name: name.into(),
        owner: Some("owner1".into()),
        ..Default::default()
    }
}

#[test]
fn tencent_attribute_limits_count_utf8_bytes() {
    assert!(validate_attributes(GroupType::Public, &attrs(&"a".repeat(30))).is_ok());
    assert_eq!(
        field_of(validate_attributes(
            GroupType::Public,
            &attrs(&"a".repeat(31))
        )),
        "spec.name"
    );
    // Eleven Chinese characters are 33 bytes.
    assert_eq!(
        field_of(validate_attributes(
            GroupType::Work,
            &attrs(&"群".repeat(11))
        )),
        "spec.name"
    );
    assert_eq!(
        field_of(validate_attributes(GroupType::Public, &attrs(""))),
        "spec.name"
    );
    let cases: [(SetField, usize, &str); 3] = [
        (|a, v| a.introduction = Some(v), 240, "spec.introduction"),
        (|a, v| a.notification = Some(v), 300, "spec.notification"),
        (|a, v| a.face_url = Some(v), 100, "spec.faceUrl"),
    ];
    for (set, limit, field) in cases {
        let mut ok = attrs("n");
        set(&mut ok, "x".repeat(limit));
        assert!(
            validate_attributes(GroupType::Public, &ok).is_ok(),
            "{field}"
        );
        let mut bad = attrs("n");
        set(&mut bad, "x".repeat(limit + 1));
        assert_eq!(
            field_of(validate_attributes(GroupType::Public, &bad)),
            field,
            "{field}"
        );
    }
    let mut a = attrs("n");
    a.custom_data = BTreeMap::from([("k".repeat(17), "v".into())]);
    assert!(field_of(validate_attributes(GroupType::Public, &a)).starts_with("spec.customData"));
    a.custom_data = BTreeMap::from([("k".into(), "v".repeat(513))]);
    assert_eq!(
        field_of(validate_attributes(GroupType::Public, &a)),
        "spec.customData[k]"
    );
    a.custom_data = BTreeMap::from([("k".repeat(16), "v".repeat(512))]);
    assert!(validate_attributes(GroupType::Public, &a).is_ok());
}

#[test]
fn netease_attribute_limits_count_characters_and_need_an_owner() {
    assert!(validate_attributes(GroupType::Advanced, &attrs(&"群".repeat(64))).is_ok());
    assert_eq!(
        field_of(validate_attributes(
            GroupType::Advanced,
            &attrs(&"群".repeat(65))
        )),
        "spec.name"
    );
    let mut a = attrs("n");
    a.owner = None;
    assert_eq!(
        field_of(validate_attributes(GroupType::Super, &a)),
        "spec.owner"
    );
    let cases: [(SetField, usize, &str); 3] = [
        (|a, v| a.introduction = Some(v), 512, "spec.introduction"),
        (|a, v| a.notification = Some(v), 1024, "spec.notification"),
        (|a, v| a.face_url = Some(v), 1024, "spec.faceUrl"),
    ];
    for (set, limit, field) in cases {
        let mut bad = attrs("n");
        set(&mut bad, "x".repeat(limit + 1));
        assert_eq!(
            field_of(validate_attributes(GroupType::Advanced, &bad)),
            field,
            "{field}"
        );
    }
    // server_extension = custom data + marker must fit in 1024 characters.
    let mut a = attrs("n");
    a.custom_data = BTreeMap::from([("k".into(), "v".repeat(900))]);
    assert!(validate_attributes(GroupType::Advanced, &a).is_ok());
    a.custom_data = BTreeMap::from([("k".into(), "v".repeat(1000))]);
    assert_eq!(
        field_of(validate_attributes(GroupType::Advanced, &a)),
        "spec.customData"
    );
}

#[test]
fn changes_are_checked_with_the_same_limits() {
    let changes = AttributeChanges {
        name: Some("a".repeat(31)),
        ..Default::default()
    };
    assert_eq!(
        field_of(validate_changes(GroupType::Public, &changes)),
        "spec.name"
    );
    assert!(validate_changes(GroupType::Advanced, &changes).is_ok());
}

#[test]
fn tencent_group_ids_follow_the_custom_id_rules() {
    assert!(validate_tencent_group_id(GroupType::Public, "team-42").is_ok());
    assert!(validate_tencent_group_id(GroupType::Community, "@TGS#_team").is_ok());
    for (group_type, bad) in [
        (GroupType::Public, "@TGS#2J4SZEAEL"),
        (GroupType::Community, "team"),
        (GroupType::Public, "tab\tid"),
        (GroupType::Public, "群"),
        (GroupType::Public, ""),
    ] {
        assert_eq!(
            field_of(validate_tencent_group_id(group_type, bad)),
            "spec.groupId",
            "{bad:?}"
        );
    }
    assert!(validate_tencent_group_id(GroupType::Public, &"x".repeat(48)).is_ok());
    assert_eq!(
        field_of(validate_tencent_group_id(
            GroupType::Public,
            &"x".repeat(49)
        )),
        "spec.groupId"
    );
}

#[test]
fn any_existing_tencent_id_can_be_adopted_but_bchatroom_is_never_created() {
    // Server-assigned ids start with the reserved prefix: adoptable, not creatable.
    assert!(validate_tencent_group_id_to_adopt("@TGS#2J4SZEAEL").is_ok());
    let too_long = "x".repeat(49);
    for bad in ["", too_long.as_str(), "tab\tid", "群"] {
        assert_eq!(
            field_of(validate_tencent_group_id_to_adopt(bad)),
            "spec.groupId",
            "{bad:?}"
        );
    }
    assert_eq!(
        field_of(validate_tencent_group_id(GroupType::BChatRoom, "b-room")),
        "spec.type"
    );
    assert!(validate_tencent_group_id_to_adopt("b-room").is_ok());
}

#[test]
fn a_tencent_owner_data_key_is_an_appdefineddata_key() {
    let mut config = tencent();
    config.marker_key = Some("cg_owner".into());
    assert!(config.validate().is_ok());
    for bad in ["", "a-key-of-17-bytes"] {
        config.marker_key = Some(bad.into());
        assert_eq!(
            field_of(config.validate()),
            "tencent.ownerDataKey",
            "{bad:?}"
        );
    }
}
