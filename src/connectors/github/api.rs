//! The GitHub REST API as the connector uses it: an octocrab client driven by a small
//! current-thread tokio runtime (the engine is synchronous), routes the connector builds itself
//! so that every message names the exact request, GitHub's errors turned into messages that say
//! what GitHub answered, to which request, and what to do — never showing the token.

use std::cell::Cell;
use std::error::Error as _;
use std::future::Future;
use std::time::Duration;

use octocrab::{FromResponse, Octocrab, Page};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value as Json;

use crate::connectors::ConnectorError;
use crate::connectors::http::{HttpSettings, check_base_url};

/// GitHub's public API, used when the config gives no `base_url`.
pub const PUBLIC_API: &str = "https://api.github.com";

/// Lists are read 100 items a page (GitHub's maximum); past this many pages a list is refused
/// rather than judged on part of it.
const PAGE_SIZE: u32 = 100;
const MAX_PAGES: usize = 100;

/// Connecting gets at most this long, within the system's `timeout`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A failed request: the HTTP status when GitHub answered, and the message for the step.
#[derive(Debug)]
pub struct ApiError {
    pub status: Option<u16>,
    pub error: ConnectorError,
}

impl From<ApiError> for ConnectorError {
    fn from(error: ApiError) -> Self {
        error.error
    }
}

/// One GitHub API: where it is, the client, and what to say when it refuses the token.
pub struct Api {
    crab: Octocrab,
    runtime: tokio::runtime::Runtime,
    base_url: String,
    /// The variable the token came from, named in messages about a refused token.
    token_env: String,
    /// What the running action needs from a fine-grained token (`` `contents: write` ``),
    /// named when GitHub answers 403.
    permission: Cell<&'static str>,
}

impl Api {
    pub fn new(settings: &HttpSettings) -> Result<Api, ConnectorError> {
        let base_url = settings
            .base_url
            .as_deref()
            .unwrap_or(PUBLIC_API)
            .trim_end_matches('/')
            .to_string();
        check_base_url("GitHub", &base_url)?;
        let token = settings.token.as_str();
        // octocrab puts the token in a header value and panics on one it cannot hold.
        if token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ConnectorError::Refused(
                "the GitHub token holds spaces, line breaks or other characters an HTTP header \
                 cannot carry; set the variable to the token alone"
                    .to_string(),
            ));
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| {
                ConnectorError::Failed(format!("cannot start the GitHub client's runtime: {e}"))
            })?;
        // octocrab spawns its request buffer on the current runtime while it is built.
        let crab = {
            let _entered = runtime.enter();
            Octocrab::builder()
                .base_uri(base_url.as_str())
                .map_err(|e| bad_base_url(&base_url, &e.to_string()))?
                .personal_token(token.to_string())
                .set_connect_timeout(Some(CONNECT_TIMEOUT.min(settings.timeout)))
                .set_read_timeout(Some(settings.timeout))
                .set_write_timeout(Some(settings.timeout))
                .build()
                .map_err(|e| {
                    ConnectorError::Failed(format!(
                        "cannot set up the GitHub client for {base_url}: {}",
                        chain(&e)
                    ))
                })?
        };
        Ok(Api {
            crab,
            runtime,
            base_url,
            token_env: settings.token_env.clone(),
            permission: Cell::new("`contents: read`"),
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Names the permission the next requests need, for 403 messages.
    pub fn needs(&self, permission: &'static str) {
        self.permission.set(permission);
    }

    pub fn get<T: FromResponse>(&self, route: &str) -> Result<T, ApiError> {
        self.run("GET", route, self.crab.get(route, None::<&()>))
    }

    /// A GET that answers `None` for 404 Not Found.
    pub fn find<T: FromResponse>(&self, route: &str) -> Result<Option<T>, ApiError> {
        match self.get(route) {
            Ok(found) => Ok(Some(found)),
            Err(error) if error.status == Some(404) => Ok(None),
            Err(error) => Err(error),
        }
    }

    pub fn post<T: DeserializeOwned>(
        &self,
        route: &str,
        body: &impl Serialize,
    ) -> Result<T, ApiError> {
        self.run("POST", route, self.crab.post(route, Some(body)))
    }

    pub fn patch<T: DeserializeOwned>(
        &self,
        route: &str,
        body: &impl Serialize,
    ) -> Result<T, ApiError> {
        self.run("PATCH", route, self.crab.patch(route, Some(body)))
    }

    pub fn put<T: DeserializeOwned>(
        &self,
        route: &str,
        body: &impl Serialize,
    ) -> Result<T, ApiError> {
        self.run("PUT", route, self.crab.put(route, Some(body)))
    }

    /// A DELETE answered with 204 No Content.
    pub fn delete(&self, route: &str) -> Result<(), ApiError> {
        self.run("DELETE", route, async {
            let response = self.crab._delete(route, None::<&()>).await?;
            octocrab::map_github_error(response).await.map(drop)
        })
    }

    /// Every item of a list, following GitHub's `Link: <...>; rel="next"` pages. `route` has
    /// its query already (`?state=open`); the page size is added here.
    pub fn list<T: DeserializeOwned>(&self, route: &str) -> Result<Vec<T>, ApiError> {
        let separator = if route.contains('?') { '&' } else { '?' };
        let first = format!("{route}{separator}per_page={PAGE_SIZE}");
        let mut page: Page<T> = self.get(&first)?;
        let mut items = std::mem::take(&mut page.items);
        let mut pages = 1;
        while let Some(next) = page.next.take() {
            if pages >= MAX_PAGES {
                return Err(ApiError {
                    status: None,
                    error: ConnectorError::Failed(format!(
                        "GET {route} lists more than {} items; Enact will not judge on part \
                         of a list — do this by hand",
                        PAGE_SIZE as usize * MAX_PAGES
                    )),
                });
            }
            page = self.get(&next.to_string())?;
            items.append(&mut page.items);
            pages += 1;
        }
        Ok(items)
    }

    fn run<T>(
        &self,
        method: &str,
        route: &str,
        request: impl Future<Output = octocrab::Result<T>>,
    ) -> Result<T, ApiError> {
        self.runtime
            .block_on(request)
            .map_err(|error| self.explain(method, route, &error))
    }

    /// What went wrong, for a person: GitHub's answer with its status, or why GitHub could not
    /// be reached or understood; always the request.
    fn explain(&self, method: &str, route: &str, error: &octocrab::Error) -> ApiError {
        let request = format!("{method} {}", self.display_route(route));
        let token = format!("the token in `{}`", self.token_env);
        match error {
            octocrab::Error::GitHub { source, .. } => {
                let status = source.status_code.as_u16();
                let answer = format!(
                    "{} {}: {}",
                    status,
                    source.status_code.canonical_reason().unwrap_or("error"),
                    github_message(&source.message, source.errors.as_deref())
                );
                let message = match status {
                    401 => format!(
                        "GitHub refused {token} ({answer} — {request}); it is wrong, expired or \
                         revoked: set a valid token"
                    ),
                    403 | 429 if is_rate_limited(source) => {
                        let reset = source
                            .rate_limit_reset_at()
                            .map(|at| {
                                format!(
                                    "; it resets at {}",
                                    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                                )
                            })
                            .unwrap_or_default();
                        format!(
                            "GitHub's API rate limit for {token} is used up ({answer} — \
                             {request}){reset}; run again after that"
                        )
                    }
                    403 => format!(
                        "GitHub answered {answer} — {request}; {token} needs {} on this \
                         repository",
                        self.permission.get()
                    ),
                    404 => format!(
                        "GitHub answered {answer} — {request} (it does not exist, or {token} \
                         cannot see it)"
                    ),
                    _ => format!("GitHub answered {answer} — {request}"),
                };
                ApiError {
                    status: Some(status),
                    error: ConnectorError::Failed(message),
                }
            }
            octocrab::Error::Json { source, .. } => ApiError {
                status: None,
                error: ConnectorError::Failed(format!(
                    "GitHub's answer to {request} is not what its API documents (at `{}`: {}); \
                     is `{}` a GitHub API?",
                    source.path(),
                    source.inner(),
                    self.base_url
                )),
            },
            other => ApiError {
                status: None,
                error: ConnectorError::Failed(format!(
                    "could not reach GitHub at {}: {} — {request}",
                    self.base_url,
                    chain(other)
                )),
            },
        }
    }

    /// A route as a person reads it: relative to the base URL (pages come back absolute).
    fn display_route<'r>(&self, route: &'r str) -> &'r str {
        route.strip_prefix(self.base_url.as_str()).unwrap_or(route)
    }
}

fn bad_base_url(url: &str, why: &str) -> ConnectorError {
    ConnectorError::Refused(format!(
        "GitHub `base_url` `{url}` cannot be used: {why}; use https://api.github.com, or \
         https://HOST/api/v3 for GitHub Enterprise Server"
    ))
}

/// GitHub's message with the details of its `errors` array (422 Validation Failed carries the
/// real reason there: "A pull request already exists for acme:agent/x.").
fn github_message(message: &str, errors: Option<&[Json]>) -> String {
    let details: Vec<String> = errors
        .unwrap_or_default()
        .iter()
        .filter_map(|error| match error {
            Json::String(text) => Some(text.clone()),
            Json::Object(fields) => {
                let text = |key: &str| fields.get(key).and_then(Json::as_str);
                text("message").map(str::to_string).or_else(|| {
                    let code = text("code")?;
                    let place = [text("resource"), text("field")]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(".");
                    Some(format!("{place} {code}").trim().to_string())
                })
            }
            _ => None,
        })
        .collect();
    if details.is_empty() {
        message.to_string()
    } else {
        format!("{message} ({})", details.join("; "))
    }
}

fn is_rate_limited(error: &octocrab::GitHubError) -> bool {
    let remaining_is_zero = error
        .headers
        .as_ref()
        .and_then(|h| h.get("x-ratelimit-remaining"))
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() == "0");
    remaining_is_zero || error.message.to_lowercase().contains("rate limit")
}

/// An error and its causes, one line (`client error (Connect): tcp connect error: Connection
/// refused`), without octocrab's backtraces.
fn chain(error: &octocrab::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cause: Option<&dyn std::error::Error> = error.source();
    while let Some(current) = cause {
        let text = current.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cause = current.source();
    }
    if parts.is_empty() {
        // octocrab's own Display can append a backtrace; keep its first line only.
        parts.push(
            error
                .to_string()
                .lines()
                .next()
                .unwrap_or("unknown error")
                .to_string(),
        );
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn validation_errors_carry_their_reasons() {
        let errors = [
            json!({"resource": "PullRequest", "code": "custom", "message": "A pull request already exists for acme:x."}),
            json!({"resource": "PullRequest", "field": "head", "code": "invalid"}),
            json!("plain text"),
        ];
        assert_eq!(
            github_message("Validation Failed", Some(&errors)),
            "Validation Failed (A pull request already exists for acme:x.; PullRequest.head \
             invalid; plain text)"
        );
        assert_eq!(github_message("Not Found", None), "Not Found");
    }

    fn settings(base_url: Option<&str>, token: &str) -> HttpSettings {
        HttpSettings {
            base_url: base_url.map(str::to_string),
            token: token.to_string(),
            token_env: "GITHUB_TOKEN".to_string(),
            timeout: crate::config::DEFAULT_HTTP_TIMEOUT,
        }
    }

    #[test]
    fn base_urls_are_checked_before_any_request() {
        for bad in [
            "api.github.com",
            "ftp://x",
            "https://",
            "https://h/api?x=1",
            "https://u@h",
            "http://github.example.com/api/v3",
        ] {
            let error = Api::new(&settings(Some(bad), "t")).err().unwrap();
            assert!(
                error.to_string().contains("GitHub base_url"),
                "{bad}: {error}"
            );
        }
        let api = Api::new(&settings(Some("https://ghe.example.com/api/v3/"), "t")).unwrap();
        assert_eq!(api.base_url(), "https://ghe.example.com/api/v3");
        assert_eq!(
            Api::new(&settings(None, "t")).unwrap().base_url(),
            PUBLIC_API
        );
    }

    #[test]
    fn a_token_a_header_cannot_carry_is_refused_without_showing_it() {
        let error = Api::new(&settings(None, "ghp_secret\nvalue"))
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains("HTTP header"), "{error}");
        assert!(!error.contains("ghp_secret"), "{error}");
    }
}
