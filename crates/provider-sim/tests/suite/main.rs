//! The provider-sim integration tests, built as one test binary: one link of the
//! crate and its dependencies instead of one per file.

mod common;

mod binary;
mod netease_envelope;
mod netease_members;
mod netease_teams;
mod official_signer;
mod sdk_shapes;
mod strictness;
mod tencent_envelope;
mod tencent_groups;
mod tencent_info;
mod tencent_members;
mod usersig;
