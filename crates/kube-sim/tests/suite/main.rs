//! The kube-sim integration tests, built as one test binary: one link of the
//! crate and its dependencies instead of one per file.

mod common;

mod admission;
mod admission_cel;
mod admission_chatgroup;
mod admission_project_crd;
mod admission_pruning;
mod admission_ratcheting;
mod admission_schema;
mod crd_cleanup;
mod discovery;
mod errors;
mod faults_log;
mod fuzz;
mod kube_rs;
mod kubectl;
mod list_watch;
mod objects;
mod openapi_document;
mod ownership;
mod patch;
