//! The chatgroup-operator integration tests, built as one test binary: one link of the
//! crate and its dependencies instead of one per file.

#[path = "support/fake.rs"]
mod fake;
#[path = "support/netease.rs"]
mod netease_support;
#[path = "support/tencent.rs"]
mod tencent_support;

mod cli;
mod crds_are_current;
mod fuzz_provider;
mod layers;
mod provider_codes;
mod provider_config;
mod provider_http_status;
mod provider_netease;
mod provider_netease_faults;
mod provider_netease_gone;
mod provider_netease_marker;
mod provider_netease_members;
mod provider_rate_budget;
mod provider_secrets;
mod provider_signatures;
mod provider_tencent;
mod provider_tencent_faults;
mod provider_tencent_members;
mod provider_write_gate;
