//! Local simulators of the Tencent Cloud Chat group REST API and the NetEase
//! Yunxin v2/v2.1 team API, for tests: in-process or as the `provider-sim` binary.
#![forbid(unsafe_code)]

mod core;
mod faults;
pub mod netease;
mod ratelimit;
mod server;
pub mod tencent;
mod types;

pub use netease::{netease_checksum, NeteaseSim, NeteaseSimConfig};
pub use tencent::usersig::{gen_usersig, verify_usersig};
pub use tencent::{TencentSim, TencentSimConfig};
pub use types::{Fault, FaultKind, RecordedCall, SimGroup, LISTING_PATH};
