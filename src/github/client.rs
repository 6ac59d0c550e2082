//! The GitHub REST client: one [`Api`] trait, an octocrab transport and a dry-run transport.
//!
//! Owns: the base URL (`GITHUB_API_URL`, so GitHub Enterprise Server works), authentication
//! (a token, or a GitHub App's id and private key exchanged for an installation token), the
//! `Accept: application/vnd.github+json` and `X-GitHub-Api-Version` headers, timeouts, and
//! retries: backoff on 5xx, dropped connections and timeouts for requests that are idempotent
//! by themselves (GET, PATCH), and waiting out primary and secondary rate limits
//! (`retry-after`, `x-ratelimit-reset`) for every method, since a rate-limited request was not
//! applied. A POST that fails in a way that may have been applied is returned as
//! [`GithubError::Transient`]: the publisher looks up again before creating anything.
//! Must not: let octocrab or http types out of this module.

use std::cell::RefCell;
use std::time::Duration;

use serde_json::Value;

use super::GithubError;

/// The REST API version this client speaks.
pub const API_VERSION: &str = "2022-11-28";
/// The media type this client asks for.
pub const ACCEPT: &str = "application/vnd.github+json";
/// The public API's base URL.
pub const DEFAULT_API_URL: &str = "https://api.github.com";

/// An HTTP method the client uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET.
    Get,
    /// POST.
    Post,
    /// PATCH.
    Patch,
}

impl Method {
    /// The method's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Patch => "PATCH",
        }
    }

    /// Whether repeating the request cannot change the result.
    pub fn idempotent(self) -> bool {
        matches!(self, Method::Get | Method::Patch)
    }
}

/// One REST request: method, path with query (relative to the base URL), JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiRequest {
    /// Method.
    pub method: Method,
    /// Path and query, starting with `/`.
    pub path: String,
    /// JSON body.
    pub body: Option<Value>,
}

impl ApiRequest {
    /// A GET.
    pub fn get(path: impl Into<String>) -> Self {
        Self {
            method: Method::Get,
            path: path.into(),
            body: None,
        }
    }

    /// A POST with a JSON body.
    pub fn post(path: impl Into<String>, body: Value) -> Self {
        Self {
            method: Method::Post,
            path: path.into(),
            body: Some(body),
        }
    }

    /// A PATCH with a JSON body.
    pub fn patch(path: impl Into<String>, body: Value) -> Self {
        Self {
            method: Method::Patch,
            path: path.into(),
            body: Some(body),
        }
    }
}

/// A successful response's status and JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiResponse {
    /// HTTP status (2xx).
    pub status: u16,
    /// The JSON body (`null` when empty).
    pub body: Value,
}

/// Something that sends REST requests.
pub trait Api {
    /// Sends one request, retrying what is safe to retry.
    fn send(&self, request: &ApiRequest) -> Result<ApiResponse, GithubError>;
}

/// How hard to try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// First backoff after a 5xx or a dropped connection; doubles each time.
    pub base_delay: Duration,
    /// Longest backoff.
    pub max_delay: Duration,
    /// Longest rate-limit wait the runner makes before giving up.
    pub max_rate_limit_wait: Duration,
    /// Per-request timeout.
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_rate_limit_wait: Duration::from_secs(300),
            timeout: Duration::from_secs(30),
        }
    }
}

/// How the client authenticates.
#[derive(Clone)]
pub enum Credentials {
    /// A token (`GITHUB_TOKEN`, a PAT or an installation token).
    Token(String),
    /// A GitHub App: its id and PEM private key; the installation is looked up from the
    /// repository unless given.
    App {
        /// App id.
        app_id: u64,
        /// PEM-encoded RSA private key.
        private_key_pem: String,
        /// Installation id, when known.
        installation_id: Option<u64>,
    },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Token(_) => f.write_str("Token(***)"),
            Credentials::App { app_id, .. } => write!(f, "App({app_id}, ***)"),
        }
    }
}

/// A note the client reports as it goes (retries, waits), for the log.
pub type Notifier = Box<dyn Fn(&str)>;

/// The real transport: octocrab on a current-thread tokio runtime.
pub struct OctocrabApi {
    runtime: tokio::runtime::Runtime,
    client: octocrab::Octocrab,
    token: String,
    policy: RetryPolicy,
    notify: Notifier,
}

impl std::fmt::Debug for OctocrabApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OctocrabApi")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// What one attempt produced.
enum Attempt {
    Done(ApiResponse),
    /// Retry after this long (any method).
    RateLimited(Duration),
    /// Failed in a way that may have been applied.
    Unsure(String),
    Fatal(GithubError),
}

impl OctocrabApi {
    /// Connects to `api_url` with `credentials`. For a GitHub App the installation token is
    /// made here (`repo` names the repository whose installation to use); `on_secret` is called
    /// with every secret value the client learns (the installation token) before it is used, so
    /// the caller can mask it.
    pub fn connect(
        api_url: &str,
        credentials: &Credentials,
        repo: Option<(&str, &str)>,
        policy: RetryPolicy,
        notify: Notifier,
        on_secret: &dyn Fn(&str),
    ) -> Result<Self, GithubError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| GithubError::Io {
                path: "tokio runtime".to_owned(),
                source: e,
            })?;
        let client = {
            let _guard = runtime.enter();
            octocrab::Octocrab::builder()
                .base_uri(api_url.trim_end_matches('/'))
                .map_err(|e| GithubError::Invalid {
                    what: "GITHUB_API_URL",
                    value: api_url.to_owned(),
                    hint: format!("an http(s) URL such as {DEFAULT_API_URL} ({e})"),
                })?
                .add_header(http::header::ACCEPT, ACCEPT.to_owned())
                .set_connect_timeout(Some(policy.timeout))
                .set_read_timeout(Some(policy.timeout))
                .set_write_timeout(Some(policy.timeout))
                .build()
                .map_err(|e| GithubError::Invalid {
                    what: "GITHUB_API_URL",
                    value: api_url.to_owned(),
                    hint: e.to_string(),
                })?
        };
        let mut api = Self {
            runtime,
            client,
            token: String::new(),
            policy,
            notify,
        };
        match credentials {
            Credentials::Token(token) => api.token = token.clone(),
            Credentials::App {
                app_id,
                private_key_pem,
                installation_id,
            } => {
                let key = octocrab::EncodingKey::from_rsa_pem(private_key_pem.as_bytes()).map_err(
                    |e| GithubError::AppAuth {
                        message: format!("the private key is not an RSA PEM key: {e}"),
                    },
                )?;
                let jwt = octocrab::auth::create_jwt(octocrab::models::AppId(*app_id), &key)
                    .map_err(|e| GithubError::AppAuth {
                        message: format!("cannot sign the app's JWT: {e}"),
                    })?;
                on_secret(&jwt);
                api.token = jwt;
                let id = match (installation_id, repo) {
                    (Some(id), _) => *id,
                    (None, Some((owner, name))) => api
                        .send(&ApiRequest::get(format!(
                            "/repos/{owner}/{name}/installation"
                        )))?
                        .body
                        .get("id")
                        .and_then(Value::as_u64)
                        .ok_or_else(|| GithubError::AppAuth {
                            message: format!("no installation id for {owner}/{name}"),
                        })?,
                    (None, None) => {
                        return Err(GithubError::Missing {
                            what: "the GitHub App installation",
                            hint: "set WAVE_GITHUB_APP_INSTALLATION_ID or GITHUB_REPOSITORY",
                        });
                    }
                };
                let token = api
                    .send(&ApiRequest::post(
                        format!("/app/installations/{id}/access_tokens"),
                        serde_json::json!({}),
                    ))?
                    .body
                    .get("token")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .ok_or_else(|| GithubError::AppAuth {
                        message: format!("installation {id} returned no token"),
                    })?;
                on_secret(&token);
                api.token = token;
            }
        }
        Ok(api)
    }

    async fn attempt(&self, request: &ApiRequest) -> Attempt {
        let method = request.method.as_str();
        let mut builder = http::Request::builder()
            .method(method)
            .uri(request.path.as_str())
            .header(http::header::ACCEPT, ACCEPT)
            .header("X-GitHub-Api-Version", API_VERSION);
        if !self.token.is_empty() {
            builder = builder.header(
                http::header::AUTHORIZATION,
                format!("Bearer {}", self.token),
            );
        }
        let built = match self.client.build_request(builder, request.body.as_ref()) {
            Ok(r) => r,
            Err(e) => {
                return Attempt::Fatal(GithubError::Response {
                    path: request.path.clone(),
                    message: format!("cannot build the request: {e}"),
                });
            }
        };
        let exchange = async {
            let response = self.client.execute(built).await?;
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let text = self.client.body_to_string(response).await?;
            Ok::<_, octocrab::Error>((status, headers, text))
        };
        let (status, headers, text) =
            match tokio::time::timeout(self.policy.timeout, exchange).await {
                Err(_) => return Attempt::Unsure("timed out".to_owned()),
                Ok(Err(e)) => return Attempt::Unsure(format!("connection failed: {e}")),
                Ok(Ok(x)) => x,
            };
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let body: Value = if text.trim().is_empty() {
            Value::Null
        } else {
            match serde_json::from_str(&text) {
                Ok(v) => v,
                Err(e) if (200..300).contains(&status) => {
                    return Attempt::Fatal(GithubError::Response {
                        path: request.path.clone(),
                        message: format!("the body is not JSON: {e}"),
                    });
                }
                Err(_) => Value::String(text.clone()),
            }
        };
        if (200..300).contains(&status) {
            return Attempt::Done(ApiResponse { status, body });
        }
        let message = body
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| text.chars().take(200).collect());
        if status == 403 || status == 429 {
            if let Some(secs) = header("retry-after").and_then(|v| v.trim().parse::<u64>().ok()) {
                return Attempt::RateLimited(Duration::from_secs(secs));
            }
            if let (Some("0"), Some(reset)) = (
                header("x-ratelimit-remaining").as_deref(),
                header("x-ratelimit-reset").and_then(|v| v.parse::<u64>().ok()),
            ) {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                return Attempt::RateLimited(Duration::from_secs(reset.saturating_sub(now) + 1));
            }
            if message
                .to_ascii_lowercase()
                .contains("secondary rate limit")
            {
                // GitHub documents waiting at least a minute when no header says how long.
                return Attempt::RateLimited(Duration::from_secs(60));
            }
        }
        if status >= 500 {
            return Attempt::Unsure(format!("{status}: {message}"));
        }
        Attempt::Fatal(GithubError::Api {
            status,
            method,
            path: request.path.clone(),
            message,
        })
    }
}

impl Api for OctocrabApi {
    fn send(&self, request: &ApiRequest) -> Result<ApiResponse, GithubError> {
        let method = request.method.as_str();
        let mut delay = self.policy.base_delay;
        let mut last = String::new();
        for attempt in 1..=self.policy.max_attempts.max(1) {
            let wait = match self.runtime.block_on(self.attempt(request)) {
                Attempt::Done(response) => return Ok(response),
                Attempt::Fatal(err) => return Err(err),
                Attempt::RateLimited(wait) => {
                    if wait > self.policy.max_rate_limit_wait {
                        return Err(GithubError::RateLimited {
                            path: request.path.clone(),
                            wait_secs: wait.as_secs(),
                            max_secs: self.policy.max_rate_limit_wait.as_secs(),
                        });
                    }
                    last = format!("rate limited for {} s", wait.as_secs());
                    wait
                }
                Attempt::Unsure(message) => {
                    if !request.method.idempotent() {
                        return Err(GithubError::Transient {
                            method,
                            path: request.path.clone(),
                            message,
                        });
                    }
                    last = message;
                    let wait = delay;
                    delay = (delay * 2).min(self.policy.max_delay);
                    wait
                }
            };
            if attempt < self.policy.max_attempts {
                (self.notify)(&format!(
                    "github: {method} {} — {last}; retrying in {} ms",
                    request.path,
                    wait.as_millis()
                ));
                std::thread::sleep(wait);
            }
        }
        Err(GithubError::Exhausted {
            method,
            path: request.path.clone(),
            attempts: self.policy.max_attempts,
            message: last,
        })
    }
}

/// A transport that sends nothing: it records every request and answers as if the repository
/// had nothing of ours yet (empty lists, created objects with id 0).
#[derive(Debug, Default)]
pub struct DryRunApi {
    sent: RefCell<Vec<ApiRequest>>,
}

impl DryRunApi {
    /// A fresh recorder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every request "sent", in order.
    pub fn requests(&self) -> Vec<ApiRequest> {
        self.sent.borrow().clone()
    }
}

impl Api for DryRunApi {
    fn send(&self, request: &ApiRequest) -> Result<ApiResponse, GithubError> {
        self.sent.borrow_mut().push(request.clone());
        let body = match request.method {
            Method::Get if request.path.contains("/check-runs") => {
                serde_json::json!({"total_count": 0, "check_runs": []})
            }
            Method::Get => serde_json::json!([]),
            Method::Post | Method::Patch => {
                let mut body = request.body.clone().unwrap_or(Value::Null);
                if let Value::Object(map) = &mut body {
                    map.insert("id".to_owned(), Value::from(0));
                }
                body
            }
        };
        Ok(ApiResponse { status: 200, body })
    }
}

/// Percent-encodes a query value.
pub fn encode_query(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(
            encode_query("wave / main / 3"),
            "wave%20%2F%20main%20%2F%203"
        );
    }

    #[test]
    fn dry_run_records_and_answers_empty() {
        let api = DryRunApi::new();
        let r = api
            .send(&ApiRequest::get("/repos/o/r/commits/abc/check-runs"))
            .expect("dry run");
        assert_eq!(r.body["total_count"], 0);
        let r = api
            .send(&ApiRequest::post(
                "/repos/o/r/issues/1/comments",
                serde_json::json!({"body": "x"}),
            ))
            .expect("dry run");
        assert_eq!(r.body["id"], 0);
        assert_eq!(api.requests().len(), 2);
    }

    #[test]
    fn credentials_never_print_secrets() {
        let c = Credentials::Token("ghp_secret".into());
        assert!(!format!("{c:?}").contains("secret"));
    }
}
