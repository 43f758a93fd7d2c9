#![forbid(unsafe_code)]
//! chatgroup-operator: manages chat groups on Tencent Cloud Chat and NetEase Yunxin IM
//! from `ChatGroup` objects.

pub mod provider;
