//! Membership vocabulary shared by both providers: roles, what a member write
//! reports per account, and which group types keep a member list or admins.

use std::collections::BTreeMap;

use super::GroupType;

/// A member's role as the provider reports it. Tencent `Owner` / `Admin` / `Member`;
/// NetEase `member_role` 1 / 2 / 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MemberRole {
    Owner,
    Admin,
    Member,
}

/// Members of a group and their roles, keyed by account. An account absent from the
/// map is not a member.
pub type Roster = BTreeMap<String, MemberRole>;

/// One account a member write did not apply, in the provider's words. `code` is
/// `None` where the provider reports a per-account failure without a code (Tencent
/// `add_group_member` `Result: 0`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberRefusal {
    pub account: String,
    pub code: Option<i64>,
    pub message: String,
}

/// What a member write (add, remove, role change) did, per account. Accounts in
/// neither list were applied (or already were as asked).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemberWrite {
    /// Accounts the provider refused, with its reason.
    pub refused: Vec<MemberRefusal>,
    /// Accounts invited that join only once they accept (Tencent `Result: 3`).
    pub pending: Vec<String>,
}

impl MemberWrite {
    /// Adds `other`'s outcome to this one (a write made of several calls).
    pub fn absorb(&mut self, other: MemberWrite) {
        self.refused.extend(other.refused);
        self.pending.extend(other.pending);
    }
}

/// Which membership a group type keeps, from the providers' documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemberSupport {
    /// Whether the group keeps a member list that accounts can be added to.
    pub members: bool,
    /// Whether members can be made admins (NetEase: managers).
    pub admins: bool,
}

/// Tencent AVChatRoom keeps no member list (`add_group_member` answers 10007,
/// `delete_group_member` 10004, T:1621 / T:1622) and names admins only through a
/// separate live-group service; BChatRoom is adopt-and-disband only. Work (Private)
/// groups have no admins (Tencent's group-system page: "是否支持设置管理员: 不支持").
/// NetEase advanced and super teams have both (`add_manager` takes either
/// `team_type`, Go and Java SDKs).
pub fn member_support(group_type: GroupType) -> MemberSupport {
    match group_type.canonical() {
        GroupType::AVChatRoom | GroupType::BChatRoom => MemberSupport {
            members: false,
            admins: false,
        },
        GroupType::Private => MemberSupport {
            members: true,
            admins: false,
        },
        _ => MemberSupport {
            members: true,
            admins: true,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_support_follows_the_documented_group_types() {
        let cases = [
            (GroupType::Public, true, true),
            (GroupType::ChatRoom, true, true),
            (GroupType::Meeting, true, true),
            (GroupType::Community, true, true),
            (GroupType::Private, true, false),
            (GroupType::Work, true, false),
            (GroupType::AVChatRoom, false, false),
            (GroupType::BChatRoom, false, false),
            (GroupType::Advanced, true, true),
            (GroupType::Super, true, true),
        ];
        for (group_type, members, admins) in cases {
            assert_eq!(
                member_support(group_type),
                MemberSupport { members, admins },
                "{group_type}"
            );
        }
    }
}
