//! Fault presets for the Tencent codes a client must handle, and the
//! `ErrorInfo` text an injected code is answered with.
//!
//! Codes: 10002 and 10007 are in the destroy_group error table of seed
//! `001_bdbcc901b48392b0.txt`; 70050 and 70052 are in the account/UserSig code
//! table of `docs/providers/tencent-chat.md` §5. The texts are our own wording.

use crate::types::{Fault, FaultKind};

/// Too many failed UserSig checks: the service locks the app out for ~60 s.
pub const USERSIG_LOCKED: i64 = 70050;
/// The UserSig was invalidated (regenerate it).
pub const USERSIG_INVALIDATED: i64 = 70052;
/// Internal server error (retry with backoff).
pub const INTERNAL_ERROR: i64 = 10002;
/// No permission for the operation (terminal).
pub const NO_PERMISSION: i64 = 10007;

impl Fault {
    /// 70050 on every API for the next `calls` calls, as the UserSig lockout
    /// looks to a client (the service holds it for about a minute; the
    /// simulator counts calls, not seconds). Not executed.
    pub fn tencent_usersig_locked(calls: u32) -> Fault {
        Fault::times(None, FaultKind::Code(USERSIG_LOCKED), calls)
    }

    /// 70052 (UserSig invalidated) on `api` (or every API) for `calls` calls.
    pub fn tencent_usersig_invalidated(api: Option<&str>, calls: u32) -> Fault {
        Fault::times(api, FaultKind::Code(USERSIG_INVALIDATED), calls)
    }

    /// 10002 (internal error) on `api` (or every API) for `calls` calls.
    pub fn tencent_internal_error(api: Option<&str>, calls: u32) -> Fault {
        Fault::times(api, FaultKind::Code(INTERNAL_ERROR), calls)
    }

    /// 10007 (no permission) on `api` (or every API) for `calls` calls.
    pub fn tencent_no_permission(api: Option<&str>, calls: u32) -> Fault {
        Fault::times(api, FaultKind::Code(NO_PERMISSION), calls)
    }
}

/// `ErrorInfo` for an injected code: a description for the known ones.
pub(crate) fn injected_info(code: i64) -> &'static str {
    match code {
        USERSIG_LOCKED => "too many failed UserSig checks; requests are locked for about a minute",
        USERSIG_INVALIDATED => "the UserSig has been invalidated; generate a new one",
        INTERNAL_ERROR => "internal server error; try again",
        NO_PERMISSION => "no permission for this operation",
        60007 => "REST API call frequency exceeded",
        10010 => "the group does not exist or was dismissed",
        10015 => "the group id is not valid",
        _ => "injected fault",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_answer_their_codes_for_a_counted_number_of_calls() {
        let cases = [
            (Fault::tencent_usersig_locked(3), None, 70050, 3),
            (
                Fault::tencent_usersig_invalidated(Some("get_group_info"), 1),
                Some("get_group_info"),
                70052,
                1,
            ),
            (Fault::tencent_internal_error(None, 2), None, 10002, 2),
            (
                Fault::tencent_no_permission(Some("destroy_group"), 1),
                Some("destroy_group"),
                10007,
                1,
            ),
        ];
        for (fault, api, code, calls) in cases {
            assert_eq!(fault.kind, FaultKind::Code(code));
            assert_eq!(fault.api.as_deref(), api);
            assert_eq!((fault.remaining, fault.probability), (Some(calls), 1.0));
            assert_ne!(injected_info(code), "injected fault");
        }
    }
}
