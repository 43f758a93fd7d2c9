//! From a `providerRef` to a ready provider client: the ChatProvider, its Secret, and
//! a cache that keeps one client (and one rate budget) per app. Secrets are read by
//! name only (no list, no watch), and read again after [`Providers::secret_refresh`]
//! or at once through [`Providers::refresh`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use kube::{Client, ResourceExt};

use crate::api::{ChatProvider, ChatProviderSpec, SecretKeyRef};
use crate::controller::provider_config;
use crate::metrics::Metrics;
use crate::provider::budget::BudgetBook;
use crate::provider::{self, AppIdentity, GroupProvider, Observed, ProviderKind, WriteGate};
use crate::{Error, Result};

struct Cached {
    fingerprint: String,
    provider: Arc<dyn GroupProvider>,
}

/// A Secret as last read (`None`: it did not exist), and when.
struct ReadSecret {
    secret: Option<Secret>,
    read_at: Instant,
}

/// How long a Secret that was read serves before it is read again.
pub const DEFAULT_SECRET_REFRESH: Duration = Duration::from_secs(60);

/// Resolves ChatProviders to clients. A client is rebuilt when the ChatProvider's
/// generation or its Secret's resourceVersion changes (credential rotation needs no
/// restart); the rate budget is kept per app across rebuilds.
pub struct Providers {
    client: Client,
    cache: Mutex<HashMap<(String, String), Cached>>,
    budgets: Arc<BudgetBook>,
    metrics: Arc<Metrics>,
    /// Asked by every client right before each provider write.
    gate: Arc<dyn WriteGate>,
    secrets: Mutex<HashMap<(String, String), ReadSecret>>,
    secret_refresh: Duration,
}

impl Providers {
    pub fn new(client: Client, metrics: Arc<Metrics>) -> Self {
        Providers {
            client,
            cache: Mutex::default(),
            budgets: Arc::default(),
            metrics,
            gate: provider::always_open(),
            secrets: Mutex::default(),
            secret_refresh: DEFAULT_SECRET_REFRESH,
        }
    }

    /// A Secret is read again once it is older than `refresh`.
    pub fn with_secret_refresh(mut self, refresh: Duration) -> Self {
        self.secret_refresh = refresh;
        self
    }

    pub fn secret_refresh(&self) -> Duration {
        self.secret_refresh
    }

    /// Secret `namespace/name`: the copy read within the refresh interval, unless
    /// `fresh`, else read now.
    async fn secret(&self, namespace: &str, name: &str, fresh: bool) -> Result<Option<Secret>> {
        let key = (namespace.to_string(), name.to_string());
        if !fresh {
            let cache = self.secrets.lock().expect("secret cache lock");
            if let Some(read) = cache.get(&key) {
                if read.read_at.elapsed() < self.secret_refresh {
                    return Ok(read.secret.clone());
                }
            }
        }
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), namespace);
        let secret = secrets
            .get_opt(name)
            .await
            .map_err(|e| Error::kube(format!("read Secret {namespace}/{name}"), e))?;
        let read = ReadSecret {
            secret: secret.clone(),
            read_at: Instant::now(),
        };
        self.secrets
            .lock()
            .expect("secret cache lock")
            .insert(key, read);
        Ok(secret)
    }

    /// Reads the Secret of ChatProvider `namespace/name` again now. Returns whether it
    /// changed since it was last read (a rotation, a deletion, a re-creation).
    pub async fn refresh(&self, namespace: &str, name: &str) -> Result<bool> {
        let providers: Api<ChatProvider> = Api::namespaced(self.client.clone(), namespace);
        let chat_provider = providers
            .get_opt(name)
            .await
            .map_err(|e| Error::kube(format!("read ChatProvider {namespace}/{name}"), e))?;
        let Some(secret_ref) = chat_provider
            .as_ref()
            .and_then(|p| secret_ref(&p.spec).ok())
        else {
            return Ok(false);
        };
        let version = |s: &Option<Secret>| s.as_ref().map(|s| (s.uid(), s.resource_version()));
        let key = (namespace.to_string(), secret_ref.name.clone());
        let before = {
            let cache = self.secrets.lock().expect("secret cache lock");
            cache.get(&key).map(|read| version(&read.secret))
        };
        let now = self.secret(namespace, &secret_ref.name, true).await?;
        Ok(before.is_some_and(|before| before != version(&now)))
    }

    /// Every client built from now on asks `gate` before each write it sends.
    pub fn with_write_gate(mut self, gate: Arc<dyn WriteGate>) -> Self {
        self.gate = gate;
        self
    }

    pub fn budgets(&self) -> Arc<BudgetBook> {
        self.budgets.clone()
    }

    /// The client for ChatProvider `namespace/name`, with current credentials.
    pub async fn resolve(&self, namespace: &str, name: &str) -> Result<Arc<dyn GroupProvider>> {
        let unavailable = |message: String| Error::CredentialsUnavailable {
            namespace: namespace.to_string(),
            name: name.to_string(),
            message,
        };
        let providers: Api<ChatProvider> = Api::namespaced(self.client.clone(), namespace);
        let chat_provider = providers
            .get_opt(name)
            .await
            .map_err(|e| Error::kube(format!("read ChatProvider {namespace}/{name}"), e))?
            .ok_or_else(|| unavailable("the ChatProvider does not exist".into()))?;
        let secret_ref = secret_ref(&chat_provider.spec).map_err(unavailable)?;
        let secret = self
            .secret(namespace, &secret_ref.name, false)
            .await?
            .ok_or_else(|| unavailable(format!("Secret {} does not exist", secret_ref.name)))?;
        let value = secret_value(&secret, secret_ref).map_err(unavailable)?;

        let fingerprint = format!(
            "{}/{}/{}",
            chat_provider.uid().unwrap_or_default(),
            chat_provider.metadata.generation.unwrap_or_default(),
            secret.resource_version().unwrap_or_default()
        );
        let key = (namespace.to_string(), name.to_string());
        if let Some(cached) = self.cache.lock().expect("cache lock").get(&key) {
            if cached.fingerprint == fingerprint {
                return Ok(cached.provider.clone());
            }
        }
        let config = provider_config::provider_config(&chat_provider.spec, value)
            .map_err(|e| unavailable(e.to_string()))?;
        let budget = self.budgets.for_config(&config);
        // New credentials (or configuration): earlier refusals say nothing about them.
        budget.auth().reset();
        let client = provider::build(config, budget, self.gate.clone())
            .map_err(|e| unavailable(e.to_string()))?;
        let client = Observed::wrap(client, self.metrics.clone());
        self.cache.lock().expect("cache lock").insert(
            key,
            Cached {
                fingerprint,
                provider: client.clone(),
            },
        );
        Ok(client)
    }

    /// Like [`resolve`](Self::resolve), but when the ChatProvider or its Secret is gone
    /// (a namespace being torn down deletes them first) falls back to the last client
    /// that worked, so a disband can still go through. One that exists but is unusable
    /// (an emptied app id or key, say) is an error to fix, not a reason to fall back.
    pub async fn resolve_for_cleanup(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Arc<dyn GroupProvider>> {
        match self.resolve(namespace, name).await {
            Err(error @ Error::CredentialsUnavailable { .. }) => {
                let key = (namespace.to_string(), name.to_string());
                let cached = self
                    .cache
                    .lock()
                    .expect("cache lock")
                    .get(&key)
                    .map(|c| c.provider.clone());
                let Some(cached) = cached else {
                    return Err(error);
                };
                if !self.may_fall_back(namespace, name, &cached.app()).await? {
                    return Err(error);
                }
                Ok(cached)
            }
            other => other,
        }
    }
}

impl Providers {
    /// Whether a deletion may use the last client that worked, for `app`: the
    /// ChatProvider `namespace/name` is gone, or it still declares `app` and the Secret
    /// it names is gone. A ChatProvider pointing at another app never falls back.
    async fn may_fall_back(&self, namespace: &str, name: &str, app: &AppIdentity) -> Result<bool> {
        let providers: Api<ChatProvider> = Api::namespaced(self.client.clone(), namespace);
        let found = providers
            .get_opt(name)
            .await
            .map_err(|e| Error::kube(format!("read ChatProvider {namespace}/{name}"), e))?;
        let Some(chat_provider) = found else {
            return Ok(true);
        };
        if !declares(&chat_provider.spec, app) {
            return Ok(false);
        }
        let Ok(secret_ref) = secret_ref(&chat_provider.spec) else {
            return Ok(false);
        };
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), namespace);
        let secret = secrets
            .get_opt(&secret_ref.name)
            .await
            .map_err(|e| Error::kube(format!("read Secret {namespace}/{}", secret_ref.name), e))?;
        Ok(secret.is_none())
    }
}

/// Whether `spec` declares the app `app` (its kind and app id).
fn declares(spec: &ChatProviderSpec, app: &AppIdentity) -> bool {
    match (&spec.tencent, &spec.netease) {
        (Some(t), None) => {
            app.kind == ProviderKind::Tencent && app.app_id == t.sdk_app_id.to_string()
        }
        (None, Some(n)) => app.kind == ProviderKind::NetEase && app.app_id == n.app_key,
        _ => false,
    }
}

/// The Secret reference of whichever provider the spec declares.
pub fn secret_ref(spec: &ChatProviderSpec) -> std::result::Result<&SecretKeyRef, String> {
    match (&spec.tencent, &spec.netease) {
        (Some(t), None) => Ok(&t.secret_key_ref),
        (None, Some(n)) => Ok(&n.app_secret_ref),
        _ => Err("spec: exactly one of tencent or netease must be set".into()),
    }
}

fn secret_value(secret: &Secret, key_ref: &SecretKeyRef) -> std::result::Result<String, String> {
    let bytes = secret
        .data
        .as_ref()
        .and_then(|data| data.get(&key_ref.key))
        .map(|b| b.0.clone())
        .or_else(|| {
            secret
                .string_data
                .as_ref()
                .and_then(|d| d.get(&key_ref.key))
                .map(|s| s.clone().into_bytes())
        })
        .ok_or_else(|| format!("Secret {} has no key {}", key_ref.name, key_ref.key))?;
    let value = String::from_utf8(bytes).map_err(|_| {
        format!(
            "Secret {} key {} is not UTF-8 text",
            key_ref.name, key_ref.key
        )
    })?;
    let value = value.trim().to_string();
    if value.is_empty() {
        return Err(format!(
            "Secret {} key {} is empty",
            key_ref.name, key_ref.key
        ));
    }
    Ok(value)
}
