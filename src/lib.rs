#![forbid(unsafe_code)]
//! chatgroup-operator: manages chat groups on Tencent Cloud Chat and NetEase Yunxin IM
//! from `ChatGroup` objects.

pub mod api;
pub mod controller;
pub mod telemetry;
pub mod error;
pub mod provider;

pub use error::{Error, Result};
