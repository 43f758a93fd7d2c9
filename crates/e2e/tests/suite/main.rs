//! The e2e integration tests, built as one test binary: one link of the
//! crate and its dependencies instead of one per file.

mod admission;
mod adoption;
mod alerts;
mod claims;
mod crash;
mod crd_deletion;
mod credentials;
mod demo;
mod duplicates;
mod events;
mod faults;
mod gitops;
mod guard;
mod helm;
mod kubectl;
mod leadership;
mod lifecycle;
mod members;
mod operations;
mod ownership;
mod ownership_more;
mod recovery;
mod sandbox;
mod shards;
mod soak;
mod tencent_marker;
mod writes;
