//! Tencent `ErrorCode` → outcome, from the documented tables (common REST codes,
//! account / UserSig codes, group codes).

use std::time::Duration;

use crate::provider::FailureClass;

/// What a Tencent code means for the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeOutcome {
    /// The call did what was asked (0, or 10013 "already a member").
    Ok,
    Fail(FailureClass),
}

/// What a `destroy_group` code means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DisbandCode {
    Disbanded,
    /// 10010: the group does not exist or was already dismissed.
    AlreadyGone,
    /// 10015: invalid id or not found; a read decides: 10010 there is gone, a second
    /// 10015 is a wrong id (terminal).
    ConfirmByRead,
    Fail(FailureClass),
}

/// Codes that ask the client to slow down.
pub const THROTTLE_CODES: [i64; 6] = [60007, 60011, 60018, 60019, 10006, 70050];
/// Too many failed UserSig checks: the whole app is locked for about a minute.
pub const APP_LOCK_CODE: i64 = 70050;
/// Codes after which the UserSig is regenerated and the call retried once.
pub const REGENERATE_SIG_CODES: [i64; 2] = [70001, 70052];
/// The app's credentials were refused: invalid SDKAppID (60006), wrong key (70009),
/// identifier or SDKAppID not matching the UserSig (70013, 70014), key or SDKAppID
/// not found in this data center (70016, 70020).
pub const AUTH_CODES: [i64; 6] = [60006, 70009, 70013, 70014, 70016, 70020];
/// The group does not exist or was dismissed: the one code that proves a group gone.
pub const GROUP_GONE_CODE: i64 = 10010;
/// "Invalid group ID": ambiguous on its own (see `DisbandCode::ConfirmByRead`).
pub const INVALID_GROUP_ID_CODE: i64 = 10015;
/// Group id taken: 10021 by someone else, 10025 with the operator as owner.
pub const ALREADY_EXISTS_CODES: [i64; 2] = [10021, 10025];

/// The least cooldown after a throttle code: 70050 locks the app for about a minute.
pub fn throttle_floor(code: i64) -> Duration {
    if code == APP_LOCK_CODE {
        Duration::from_secs(60)
    } else {
        Duration::ZERO
    }
}

pub fn classify(code: i64) -> CodeOutcome {
    use FailureClass::*;
    let class = match code {
        0 | 10013 => return CodeOutcome::Ok,
        c if THROTTLE_CODES.contains(&c) => Throttled,
        GROUP_GONE_CODE | INVALID_GROUP_ID_CODE => NotFound,
        c if ALREADY_EXISTS_CODES.contains(&c) => AlreadyExists,
        c if AUTH_CODES.contains(&c) => Unauthorized,
        // Internal errors, timeouts, an expired sig that survived one regeneration,
        // an expired package (slow retry).
        10002 | 60008 | 60013 | 60014 | 60020 | 70001 | 70052 | 70169 | 70500 => Transient,
        // Bad request or configuration, permission, quota, vetoed by a callback.
        60002 | 60003 | 60004 | 60005 | 60010 | 60016 | 60017 | 60021 => Terminal,
        70002 | 70003 | 70005 | 70107 | 70403 => Terminal,
        10003 | 10004 | 10005 | 10007 | 10014 | 10016 | 10018 | 10019 | 10026 => Terminal,
        10036..=10038 => Terminal,
        // Unknown codes need a human; retrying blindly could hide them.
        _ => Terminal,
    };
    CodeOutcome::Fail(class)
}

pub fn classify_disband(code: i64) -> DisbandCode {
    match code {
        GROUP_GONE_CODE => DisbandCode::AlreadyGone,
        INVALID_GROUP_ID_CODE => DisbandCode::ConfirmByRead,
        other => match classify(other) {
            CodeOutcome::Ok => DisbandCode::Disbanded,
            CodeOutcome::Fail(class) => DisbandCode::Fail(class),
        },
    }
}
