//! The operator's one error type.

use crate::provider::{FailureClass, ProviderError};

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The ChatProvider, its Secret or the credential in it could not be used.
    #[error("failed to resolve ChatProvider {namespace}/{name}: {message}")]
    CredentialsUnavailable {
        namespace: String,
        name: String,
        message: String,
    },

    /// The spec asks for something the provider cannot do; retried on a spec change.
    #[error("invalid spec: {field}: {message}")]
    InvalidSpec { field: String, message: String },

    /// The group exists but is not ours to manage or disband.
    #[error("refusing to manage group {group_id}: {message}")]
    NotOwned { group_id: String, message: String },

    /// The ChatProvider now resolves to another app than the one the group lives in:
    /// no call is made for this object until it points back (or the object is orphaned).
    #[error("the ChatProvider now points at {current}, but group {group_id} lives in {recorded}; no call is made for this object until the ChatProvider points back at {recorded} (or set spec.deletionPolicy: Orphan and delete the object to let go of the group)")]
    ProviderChanged {
        group_id: String,
        recorded: String,
        current: String,
    },

    /// A ChatGroupClaim that this operator did not write stands in the way.
    #[error("ChatGroupClaim {claim} cannot be used: {message}")]
    ForeignClaim { claim: String, message: String },

    /// An object kept changing under this operator's writes; retried later.
    #[error("{object} kept changing while being written; retrying later")]
    Contended { object: String },

    /// A create whose answer was lost may still take effect: the object waits before
    /// searching again (and before re-creating or releasing anything).
    #[error("waiting {retry_in:?} for a create sent at {since} that may still take effect ({searches} complete searches found nothing so far)")]
    CreatePending {
        since: String,
        searches: u32,
        retry_in: std::time::Duration,
    },

    /// A reconcile took more steps than allowed without reaching a decision.
    #[error("no final decision after {steps} steps; retrying")]
    Undecided { steps: usize },

    /// A reconcile ran past `--reconcile-timeout` and was stopped; retried.
    #[error(
        "the reconcile took longer than {after:?} (--reconcile-timeout) and was stopped; retrying"
    )]
    TimedOut { after: std::time::Duration },

    /// A step ran without what it needs; a bug, retried.
    #[error("internal error: {0}")]
    Internal(&'static str),

    /// The blast-radius guard holds this disband: too many in the last hour.
    #[error("disband of group {group_id} held: more than {per_hour} disbands in the last hour (--max-disbands-per-hour); retrying in {retry_in:?}")]
    DisbandBudgetExhausted {
        per_hour: u32,
        group_id: String,
        retry_in: std::time::Duration,
    },

    /// A provider call failed.
    #[error(transparent)]
    Provider(#[from] ProviderError),

    /// A Kubernetes API call failed.
    #[error("failed to {action}: {source}")]
    Kube {
        action: String,
        #[source]
        source: kube::Error,
    },

    /// Leader election failed, or this replica lost the lease.
    #[error("leader election: {0}")]
    Leadership(String),

    /// A start-up setting is out of range; names the flag and what is allowed.
    #[error("{flag}: {message}")]
    InvalidSetting { flag: &'static str, message: String },

    /// This replica may not start provider writes any more: its renew deadline passed
    /// or it lost the lease (see `controller::fence`).
    #[error("not the leader any more, no provider write is started: {0}")]
    Fenced(String),

    /// The finalizer helper failed to add or remove the finalizer (a failure of the
    /// reconcile inside it is that failure itself: see `From`).
    #[error("failed to run the finalizer: {0}")]
    Finalizer(#[source] Box<kube::runtime::finalizer::Error<Error>>),
}

/// The reconcile's own error comes out of the finalizer helper as itself, so it is
/// unwrapped here once; only the helper's own failures stay wrapped.
impl From<kube::runtime::finalizer::Error<Error>> for Error {
    fn from(error: kube::runtime::finalizer::Error<Error>) -> Self {
        use kube::runtime::finalizer::Error as Finalizer;
        match error {
            Finalizer::ApplyFailed(e) | Finalizer::CleanupFailed(e) => e,
            other => Error::Finalizer(Box::new(other)),
        }
    }
}

/// A spec or configuration refused before any call names its field.
impl From<crate::provider::ConfigError> for Error {
    fn from(error: crate::provider::ConfigError) -> Self {
        Error::InvalidSpec {
            field: error.field,
            message: error.message,
        }
    }
}

impl Error {
    pub fn kube(action: impl Into<String>, source: kube::Error) -> Self {
        Error::Kube {
            action: action.into(),
            source,
        }
    }

    pub fn invalid_spec(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::InvalidSpec {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The error's kind in words fit for a condition reason, an Event and a metric label.
    pub fn reason(&self) -> &'static str {
        match self {
            Error::CredentialsUnavailable { .. } => "CredentialsUnavailable",
            Error::InvalidSpec { .. } => "InvalidSpec",
            Error::NotOwned { .. } => "GroupNotOwned",
            Error::ProviderChanged { .. } => "ProviderChanged",
            Error::ForeignClaim { .. } => "ForeignClaim",
            Error::Contended { .. } => "KubernetesError",
            Error::CreatePending { .. } => "CreatePending",
            Error::DisbandBudgetExhausted { .. } => "DisbandBudgetExhausted",
            Error::Provider(e) => e.class.reason(),
            Error::Kube { .. } | Error::Finalizer(_) => "KubernetesError",
            Error::Fenced(_) => "NotLeader",
            Error::Leadership(_)
            | Error::InvalidSetting { .. }
            | Error::Undecided { .. }
            | Error::TimedOut { .. }
            | Error::Internal(_) => "OperatorError",
        }
    }

    /// Terminal errors wait for a spec change (or a long interval); the rest back off.
    pub fn is_terminal(&self) -> bool {
        match self {
            Error::InvalidSpec { .. }
            | Error::NotOwned { .. }
            | Error::ProviderChanged { .. }
            | Error::ForeignClaim { .. } => true,
            Error::Provider(e) => matches!(
                e.class,
                FailureClass::Terminal | FailureClass::AlreadyExists | FailureClass::Unauthorized
            ),
            _ => false,
        }
    }

    /// When the error itself says how long to wait (the disband guard).
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            Error::DisbandBudgetExhausted { retry_in, .. }
            | Error::CreatePending { retry_in, .. } => Some(*retry_in),
            _ => None,
        }
    }

    /// The provider error inside, if any.
    pub fn provider_error(&self) -> Option<&ProviderError> {
        match self {
            Error::Provider(e) => Some(e),
            _ => None,
        }
    }
}
