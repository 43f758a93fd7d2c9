#![forbid(unsafe_code)]
//! chatgroup-operator: manages chat groups on Tencent Cloud Chat and NetEase Yunxin IM
//! from `ChatGroup` objects.

pub mod api;
pub mod controller;
pub mod error;
pub mod http;
pub mod metrics;
pub mod provider;
pub mod telemetry;

pub use error::{Error, Result};
