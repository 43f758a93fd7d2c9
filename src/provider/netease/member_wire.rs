//! Shapes of the member calls' answers: the member list page (`items`, `next_token`,
//! `has_more`; Go `ListTeamMembersResponseV2` / `TeamMember`, Java the same names) and
//! the invite / kick `failed_list` (Go `FailedOperation`).

use serde_json::Value;

use super::wire::as_i64;
use crate::provider::MemberRole;

/// `member_role`: 1 owner, 2 manager, 0 normal (Go `TeamMember.MemberRole`, NODENIM
/// `V2NIMTeamMemberRole`). Any other value, or none, is read as a plain member
/// (unconfirmed: the SDKs name no other role).
pub fn role(value: Option<&Value>) -> MemberRole {
    match value.and_then(as_i64) {
        Some(1) => MemberRole::Owner,
        Some(2) => MemberRole::Admin,
        _ => MemberRole::Member,
    }
}

/// One page of the member list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberPage {
    /// Accounts as the provider spells them (it lower-cases ids), with their roles.
    pub members: Vec<(String, MemberRole)>,
    /// The cursor of the next page; `None` on the last one.
    pub next: Option<String>,
}

/// Parses a member list page. The last page is the one with `has_more: false` or,
/// without `has_more`, with an empty `next_token`. `has_more: true` without a token
/// is an error: the rest cannot be read, and a roster cut short is no roster.
pub fn parse_member_page(data: &Value) -> Result<MemberPage, String> {
    let items = match data.get("items") {
        Some(Value::Array(items)) => items,
        Some(Value::Null) | None => return Err("data.items is missing".to_string()),
        Some(_) => return Err("data.items is not a list".to_string()),
    };
    let mut members = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match item.get("account_id").and_then(Value::as_str) {
            Some(account) if !account.is_empty() => {
                members.push((account.to_string(), role(item.get("member_role"))));
            }
            _ => return Err(format!("data.items[{i}].account_id is missing")),
        }
    }
    let token = data
        .get("next_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .map(str::to_string);
    let next = match data.get("has_more") {
        Some(Value::Bool(false)) => None,
        Some(Value::Bool(true)) if token.is_none() => {
            return Err("data.next_token is missing while has_more is true".to_string())
        }
        Some(Value::Bool(true)) | None | Some(Value::Null) => token,
        Some(_) => return Err("data.has_more is not a boolean".to_string()),
    };
    Ok(MemberPage { members, next })
}

/// One entry of a `failed_list`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failed {
    pub account: String,
    pub code: i64,
    pub message: String,
}

/// The `failed_list` of an invite or kick answer; absent or null is empty. An entry
/// without an account or a code is an error: which account failed would be a guess.
pub fn parse_failed(data: &Value) -> Result<Vec<Failed>, String> {
    let list = match data.get("failed_list") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(list)) => list,
        Some(_) => return Err("data.failed_list is not a list".to_string()),
    };
    let mut failed = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let account = item.get("account_id").and_then(Value::as_str);
        let code = item.get("error_code").and_then(as_i64);
        let (Some(account), Some(code)) = (account, code) else {
            return Err(format!(
                "data.failed_list[{i}] lacks account_id or error_code"
            ));
        };
        failed.push(Failed {
            account: account.to_string(),
            code,
            message: item
                .get("error_msg")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        });
    }
    Ok(failed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn roles_follow_member_role_and_unknown_values_are_members() {
        assert_eq!(role(Some(&json!(1))), MemberRole::Owner);
        assert_eq!(role(Some(&json!("2"))), MemberRole::Admin);
        assert_eq!(role(Some(&json!(0))), MemberRole::Member);
        assert_eq!(role(Some(&json!(7))), MemberRole::Member);
        assert_eq!(role(None), MemberRole::Member);
    }

    #[test]
    fn a_page_ends_on_has_more_false_or_an_empty_token() {
        let page = parse_member_page(&json!({"items": [{"account_id": "a", "member_role": 1}],
            "has_more": true, "next_token": "t"}))
        .unwrap();
        assert_eq!(page.members, [("a".to_string(), MemberRole::Owner)]);
        assert_eq!(page.next.as_deref(), Some("t"));
        let last = json!({"items": [], "has_more": false, "next_token": "t"});
        assert_eq!(parse_member_page(&last).unwrap().next, None);
        let no_flag = json!({"items": [], "next_token": ""});
        assert_eq!(parse_member_page(&no_flag).unwrap().next, None);
        let no_flag_more = json!({"items": [], "next_token": "u"});
        assert_eq!(
            parse_member_page(&no_flag_more).unwrap().next.as_deref(),
            Some("u")
        );
    }

    #[test]
    fn pages_that_cannot_be_trusted_are_errors() {
        assert!(parse_member_page(&json!({"has_more": false})).is_err());
        assert!(parse_member_page(&json!({"items": [], "has_more": true})).is_err());
        assert!(parse_member_page(&json!({"items": [{"member_role": 0}]})).is_err());
        assert!(parse_member_page(&json!({"items": [], "has_more": "no"})).is_err());
    }

    #[test]
    fn failed_lists_need_an_account_and_a_code() {
        let data = json!({"failed_list": [{"account_id": "a", "error_code": 102404,
            "error_msg": "a not valid"}]});
        assert_eq!(
            parse_failed(&data).unwrap(),
            [Failed {
                account: "a".into(),
                code: 102404,
                message: "a not valid".into()
            }]
        );
        assert!(parse_failed(&json!({})).unwrap().is_empty());
        assert!(parse_failed(&json!({"failed_list": [{"account_id": "a"}]})).is_err());
        assert!(parse_failed(&json!({"failed_list": {}})).is_err());
    }
}
