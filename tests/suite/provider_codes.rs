//! The outcome tables, row by row against the providers' documented codes.

use chatgroup_operator::provider::netease::codes as netease;
use chatgroup_operator::provider::tencent::codes as tencent;
use chatgroup_operator::provider::FailureClass::{self, *};

fn tencent_fail(code: i64) -> tencent::CodeOutcome {
    tencent::CodeOutcome::Fail(code_class(code))
}

fn code_class(code: i64) -> FailureClass {
    match tencent::classify(code) {
        tencent::CodeOutcome::Fail(class) => class,
        tencent::CodeOutcome::Ok => panic!("{code} classified as success"),
    }
}

#[test]
fn tencent_common_rest_codes() {
    let rows = [
        (60002, Terminal),
        (60003, Terminal),
        (60004, Terminal),
        (60005, Terminal),
        (60006, Unauthorized), // invalid SDKAppID, not a rate limit
        (60007, Throttled),
        (60008, Transient),
        (60010, Terminal),
        (60011, Throttled),
        (60013, Transient),
        (60014, Transient),
        (60016, Terminal),
        (60017, Terminal),
        (60018, Throttled),
        (60019, Throttled),
        (60020, Transient),
        (60021, Terminal),
    ];
    for (code, class) in rows {
        assert_eq!(
            tencent::classify(code),
            tencent::CodeOutcome::Fail(class),
            "code {code}"
        );
    }
}

#[test]
fn tencent_account_and_usersig_codes() {
    let rows = [
        (70001, Transient), // after the one regenerate-and-retry
        (70002, Terminal),
        (70003, Terminal),
        (70005, Terminal),
        (70009, Unauthorized),
        (70013, Unauthorized),
        (70014, Unauthorized),
        (70016, Unauthorized),
        (70020, Unauthorized),
        (70050, Throttled),
        (70052, Transient),
        (70107, Terminal),
        (70169, Transient),
        (70500, Transient),
        (70403, Terminal),
    ];
    for (code, class) in rows {
        assert_eq!(
            tencent::classify(code),
            tencent::CodeOutcome::Fail(class),
            "code {code}"
        );
    }
    assert!(tencent::REGENERATE_SIG_CODES.contains(&70001));
    assert!(tencent::REGENERATE_SIG_CODES.contains(&70052));
    assert!(tencent::throttle_floor(70050) >= std::time::Duration::from_secs(60));
    assert_eq!(tencent::throttle_floor(60007), std::time::Duration::ZERO);
}

#[test]
fn tencent_group_codes() {
    let rows = [
        (10002, Transient),
        (10003, Terminal),
        (10004, Terminal),
        (10005, Terminal),
        (10006, Throttled),
        (10007, Terminal),
        (10010, NotFound),
        (10014, Terminal),
        (10015, NotFound),
        (10016, Terminal),
        (10018, Terminal),
        (10019, Terminal),
        (10021, AlreadyExists),
        (10025, AlreadyExists),
        (10026, Terminal),
        (10036, Terminal),
        (10037, Terminal),
        (10038, Terminal),
    ];
    for (code, class) in rows {
        assert_eq!(tencent::classify(code), tencent_fail(code), "code {code}");
        assert_eq!(code_class(code), class, "code {code}");
    }
    assert_eq!(tencent::classify(0), tencent::CodeOutcome::Ok);
    assert_eq!(
        tencent::classify(10013),
        tencent::CodeOutcome::Ok,
        "already a member is fine"
    );
    assert_eq!(
        tencent::classify(99999),
        tencent::CodeOutcome::Fail(Terminal),
        "unknown codes need a human"
    );
}

#[test]
fn tencent_destroy_group_codes() {
    use tencent::DisbandCode;
    assert_eq!(tencent::classify_disband(0), DisbandCode::Disbanded);
    assert_eq!(tencent::classify_disband(10010), DisbandCode::AlreadyGone);
    assert_eq!(tencent::classify_disband(10015), DisbandCode::ConfirmByRead);
    assert_eq!(
        tencent::classify_disband(10002),
        DisbandCode::Fail(Transient)
    );
    assert_eq!(
        tencent::classify_disband(10003),
        DisbandCode::Fail(Terminal)
    );
    assert_eq!(
        tencent::classify_disband(10004),
        DisbandCode::Fail(Terminal)
    );
    assert_eq!(
        tencent::classify_disband(10007),
        DisbandCode::Fail(Terminal)
    );
    assert_eq!(
        tencent::classify_disband(60007),
        DisbandCode::Fail(Throttled)
    );
}

#[test]
fn netease_table_rows() {
    let rows = [
        (403, Terminal),
        (414, Terminal),
        (416, Throttled),
        (431, Transient),
        (500, Transient),
        (503, Transient),
        (514, Transient),
        (101301, Terminal),
        (101303, Unauthorized),
        (101403, Unauthorized),
        (102404, Terminal), // an account, not the team, is missing
        (108404, NotFound),
        (108302, Terminal),
        (108303, Terminal),
        (108305, Terminal),
        (108435, Terminal),
        (108311, Terminal),
        (108449, Transient),
        (108451, Terminal),
        (109307, Terminal),
        (109404, Terminal),
        (109427, Terminal),
        (109432, Terminal),
        (109449, Transient),
        (803, NotFound),
        (802, Terminal),
        (801, Terminal),
        (806, Terminal),
    ];
    for (code, class) in rows {
        assert_eq!(
            netease::classify(code),
            netease::CodeOutcome::Fail(class),
            "code {code}"
        );
    }
    for ok in [200, 109311, 108310] {
        assert_eq!(netease::classify(ok), netease::CodeOutcome::Ok, "code {ok}");
    }
}

#[test]
fn netease_code_patterns() {
    // xxx449 concurrency conflict: retry; xxx435/437 quota and xxx451 antispam: terminal.
    for code in [101449, 102449, 110449] {
        assert_eq!(
            netease::classify(code),
            netease::CodeOutcome::Fail(Transient),
            "code {code}"
        );
    }
    for code in [102435, 109437, 108437, 102451, 110451] {
        assert_eq!(
            netease::classify(code),
            netease::CodeOutcome::Fail(Terminal),
            "code {code}"
        );
    }
    for code in [103404, 110404] {
        assert_eq!(
            netease::classify(code),
            netease::CodeOutcome::Fail(Terminal),
            "code {code}"
        );
    }
}

#[test]
fn netease_disband_codes() {
    use netease::DisbandCode;
    assert_eq!(netease::classify_disband(200), DisbandCode::Disbanded);
    assert_eq!(netease::classify_disband(108404), DisbandCode::AlreadyGone);
    assert_eq!(netease::classify_disband(803), DisbandCode::AlreadyGone);
    assert_eq!(netease::classify_disband(416), DisbandCode::Fail(Throttled));
    assert_eq!(
        netease::classify_disband(108449),
        DisbandCode::Fail(Transient)
    );
    assert_eq!(
        netease::classify_disband(109427),
        DisbandCode::Fail(Terminal)
    );
}
