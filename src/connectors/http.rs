//! The small HTTP client the SaaS connectors (Slack, HubSpot) share: one ureq agent with a
//! whole-request timeout, a bearer token, JSON in and out, the status and `Retry-After` handed
//! back for the connector to judge. No message it builds contains the token.

use std::fmt;
use std::time::Duration;

use serde_json::Value as Json;

use super::ConnectorError;
use crate::policy::value::format_duration;

/// How an HTTP system is reached, as `open` builds it from the configuration.
#[derive(Clone)]
pub struct HttpSettings {
    /// The API's address (`https://slack.com/api`); `None` for the connector's public API.
    pub base_url: Option<String>,
    pub token: String,
    /// Where the token comes from, for messages: the variable's name (`SLACK_BOT_TOKEN`).
    pub token_env: String,
    /// How long one request may take, answer included.
    pub timeout: Duration,
}

impl fmt::Debug for HttpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpSettings")
            .field("base_url", &self.base_url)
            .field("token_env", &self.token_env)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// An answer, whatever its status: connectors decide what a status means for their API.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpResponse {
    pub status: u16,
    /// `Retry-After` in seconds, when the server sent one.
    pub retry_after: Option<u64>,
    /// The body as JSON; null when it is empty or not JSON (see `text`).
    pub body: Json,
    /// The start of a body that is not JSON (an HTML error page from a proxy), for messages.
    pub text: String,
}

impl HttpResponse {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// "retry after 30 s", or advice to wait when the server did not say how long.
    pub fn retry_hint(&self) -> String {
        match self.retry_after {
            Some(seconds) => format!("retry after {seconds} s (Retry-After)"),
            None => "wait a moment and retry".to_string(),
        }
    }
}

/// One API's client: its base URL, token and timeout.
pub struct HttpClient {
    agent: ureq::Agent,
    /// Without a trailing `/`.
    base_url: String,
    token: String,
    token_env: String,
    /// The API's name in messages: `Slack`, `HubSpot`.
    service: &'static str,
    timeout: Duration,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("service", &self.service)
            .field("base_url", &self.base_url)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// The longest piece of a non-JSON body quoted in a message.
const TEXT_SNIPPET: usize = 200;

/// HTTP methods the connectors use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Delete,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Delete => "DELETE",
        }
    }
}

impl HttpSettings {
    /// The API's address without a trailing `/`: the configured `base_url`, else the
    /// connector's public API. The configured one was checked when the config was loaded
    /// (`check_base_url`).
    pub fn base_url_or(&self, default: &str) -> String {
        self.base_url
            .as_deref()
            .unwrap_or(default)
            .trim_end_matches('/')
            .to_string()
    }

    /// Refuses a token an HTTP header cannot carry: empty, or holding spaces, line breaks (a
    /// `.env` file with Windows line ends leaves a `\r`) or other unprintable characters. Sent
    /// anyway, ureq would fail the request before it leaves, in words that say a write may or
    /// may not have happened; octocrab panics on it. Every HTTP connector calls this first.
    pub fn check_token(&self, service: &str) -> Result<(), ConnectorError> {
        let variable = &self.token_env;
        if self.token.is_empty() {
            return Err(ConnectorError::Refused(format!(
                "the {service} token in `{variable}` is empty; set it"
            )));
        }
        if !self.token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ConnectorError::Refused(format!(
                "the {service} token in `{variable}` holds spaces, line breaks or other \
                 characters an HTTP header cannot carry; set `{variable}` to the token alone"
            )));
        }
        Ok(())
    }
}

impl HttpClient {
    /// A client for `service`, at `settings.base_url` or else `default_base_url`.
    pub fn new(
        service: &'static str,
        default_base_url: &str,
        settings: HttpSettings,
    ) -> Result<HttpClient, ConnectorError> {
        settings.check_token(service)?;
        let base_url = settings.base_url_or(default_base_url);
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(settings.timeout))
            .http_status_as_error(false)
            // A redirect would carry the token to wherever it points: answer it as it is.
            .max_redirects(0)
            .max_redirects_will_error(false)
            .user_agent(concat!("enact/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Ok(HttpClient {
            agent,
            base_url,
            token: settings.token,
            token_env: settings.token_env,
            service,
            timeout: settings.timeout,
        })
    }

    /// The variable the token comes from, for messages that ask to fix it.
    pub fn token_env(&self) -> &str {
        &self.token_env
    }

    /// Sends a request to `path` (appended to the base URL) with an optional JSON body.
    /// A transport failure or timeout is `Failed`, saying what may have happened; any answer,
    /// whatever its status, is returned for the connector to judge.
    pub fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Json>,
    ) -> Result<HttpResponse, ConnectorError> {
        let url = format!("{}/{}", self.base_url, path.trim_start_matches('/'));
        let authorization = format!("Bearer {}", self.token);
        let result = match (method, body) {
            (Method::Get, _) => self
                .agent
                .get(&url)
                .header("Authorization", &authorization)
                .header("Accept", "application/json")
                .call(),
            (Method::Delete, _) => self
                .agent
                .delete(&url)
                .header("Authorization", &authorization)
                .header("Accept", "application/json")
                .call(),
            (Method::Post, body) => {
                let text = body.map_or_else(|| "{}".to_string(), Json::to_string);
                self.agent
                    .post(&url)
                    .header("Authorization", &authorization)
                    .header("Accept", "application/json")
                    .content_type("application/json; charset=utf-8")
                    .send(text.as_str())
            }
        };
        let mut response = result.map_err(|e| self.transport_error(method, path, &e))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let text = response
            .body_mut()
            .read_to_string()
            .map_err(|e| self.transport_error(method, path, &e))?;
        let body = if text.trim().is_empty() {
            Json::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Json::Null)
        };
        let text = if body.is_null() {
            self.scrub(&text.chars().take(TEXT_SNIPPET).collect::<String>())
        } else {
            String::new()
        };
        Ok(HttpResponse {
            status,
            retry_after,
            body,
            text,
        })
    }

    /// What went wrong before an answer arrived. Whether a mutation happened is then unknown,
    /// and the connector's message must say so.
    fn transport_error(&self, method: Method, path: &str, error: &ureq::Error) -> ConnectorError {
        let what = format!("{} {} {path}", self.service, method.as_str());
        let message = match error {
            ureq::Error::Timeout(_) => format!(
                "{what}: no answer within {} (the system's timeout)",
                format_duration(i64::try_from(self.timeout.as_millis()).unwrap_or(i64::MAX))
            ),
            ureq::Error::HostNotFound => {
                format!("{what}: the host of `{}` was not found", self.base_url)
            }
            ureq::Error::Io(io) => format!("{what}: cannot reach `{}`: {io}", self.base_url),
            ureq::Error::ConnectionFailed => {
                format!("{what}: cannot connect to `{}`", self.base_url)
            }
            other => format!("{what}: {other}"),
        };
        ConnectorError::Failed(self.scrub(&message))
    }

    /// Removes the token from a text that might, against all expectations, quote it.
    pub fn scrub(&self, text: &str) -> String {
        if self.token.is_empty() {
            text.to_string()
        } else {
            text.replace(&self.token, "[REDACTED]")
        }
    }
}

/// Why a configured `base_url` cannot be used: not http(s), a user, query, fragment or spaces
/// in it, or plain `http://` anywhere but the loopback address (the token would cross the
/// network in clear text). The config asks this of every HTTP system (GitHub, Slack, HubSpot)
/// when it is loaded, so `enact check` refuses what `enact run` would.
pub(crate) fn base_url_flaw(url: &str) -> Option<&'static str> {
    if url.contains(['?', '#', '@']) || url.chars().any(char::is_whitespace) {
        return Some("may hold no user, query, fragment or spaces");
    }
    if let Some(rest) = url.strip_prefix("http://") {
        (!is_loopback(host_of(rest))).then_some(
            "is plain http to another machine, which would send the token in clear text; \
             use https:// (plain http is accepted for 127.0.0.1 and localhost only)",
        )
    } else if let Some(rest) = url.strip_prefix("https://") {
        host_of(rest).is_empty().then_some("has no host")
    } else {
        Some("must start with https:// (like https://api.example.com)")
    }
}

/// [`base_url_flaw`] as a refusal naming the service: GitHub's client still judges its URL
/// itself, besides the config.
pub(crate) fn check_base_url(service: &str, url: &str) -> Result<(), ConnectorError> {
    match base_url_flaw(url) {
        Some(why) => Err(ConnectorError::Refused(format!(
            "the {service} base_url `{url}` {why}"
        ))),
        None => Ok(()),
    }
}

/// The host of `host[:port][/path]`, brackets kept for IPv6 (`[::1]`).
fn host_of(rest: &str) -> &str {
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority.rsplit('@').next().unwrap_or_default();
    if authority.starts_with('[') {
        return authority.split_inclusive(']').next().unwrap_or(authority);
    }
    authority.split(':').next().unwrap_or_default()
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host == "[::1]"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(base_url: &str) -> HttpSettings {
        HttpSettings {
            base_url: Some(base_url.to_string()),
            token: "xoxb-secret-token".to_string(),
            token_env: "SLACK_TOKEN".to_string(),
            timeout: Duration::from_millis(300),
        }
    }

    #[test]
    fn plain_http_is_for_the_loopback_address_only() {
        for url in [
            "http://127.0.0.1:8080/api",
            "http://localhost:9/",
            "http://[::1]:80",
            "https://slack.example.com/api",
        ] {
            assert_eq!(base_url_flaw(url), None, "{url}");
        }
        let refusal = |url: &str| base_url_flaw(url).unwrap();
        assert!(refusal("http://slack.example.com/api").contains("clear text"));
        assert!(refusal("http://127.0.0.1.evil.example/api").contains("clear text"));
        assert!(refusal("http://10.0.0.1/api").contains("clear text"));
        assert!(refusal("http://user@127.0.0.1/api").contains("no user"));
        assert!(refusal("https://slack.com/api?team=x").contains("no user, query"));
        assert!(refusal("ftp://slack.example.com").contains("https://"));
        assert!(refusal("https:///api").contains("no host"));
    }

    #[test]
    fn the_base_url_loses_its_trailing_slash_and_defaults_apply() {
        let configured = settings("http://127.0.0.1:1/api/");
        assert_eq!(
            configured.base_url_or("https://slack.com/api"),
            "http://127.0.0.1:1/api"
        );
        let mut defaults = settings("x");
        defaults.base_url = None;
        assert_eq!(
            defaults.base_url_or("https://slack.com/api/"),
            "https://slack.com/api"
        );
    }

    #[test]
    fn a_token_a_header_cannot_carry_is_refused_naming_its_variable() {
        let with_token = |token: &str| HttpSettings {
            token: token.to_string(),
            ..settings("https://slack.com/api")
        };
        assert!(with_token("xoxb-1-2-abc").check_token("Slack").is_ok());
        let refusal = |token: &str| match with_token(token).check_token("Slack") {
            Err(ConnectorError::Refused(message)) => message,
            other => panic!("{token:?} must be refused, got {other:?}"),
        };
        assert!(refusal("").contains("`SLACK_TOKEN` is empty"));
        for token in ["xoxb-1-2-abc\r", "xoxb-1-2-abc\n", "  ", "xoxb 1", "xoxb-é"] {
            let message = refusal(token);
            assert!(message.contains("`SLACK_TOKEN`"), "{message}");
            assert!(message.contains("cannot carry"), "{message}");
            assert!(!message.contains("xoxb"), "{message}");
        }
    }

    #[test]
    fn debug_output_and_scrubbed_text_never_show_the_token() {
        let client = HttpClient::new(
            "Slack",
            "https://slack.com/api",
            settings("https://x.example"),
        )
        .unwrap();
        assert!(!format!("{client:?}").contains("xoxb-secret-token"));
        assert!(!format!("{:?}", settings("https://x.example")).contains("xoxb-secret-token"));
        assert_eq!(
            client.scrub("header was Bearer xoxb-secret-token"),
            "header was Bearer [REDACTED]"
        );
    }

    #[test]
    fn an_unreachable_server_is_a_failure_naming_the_service_and_address() {
        // A port nobody listens on: bind one, then let it go.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}");
        let client = HttpClient::new("HubSpot", "https://api.hubapi.com", settings(&url)).unwrap();
        let Err(ConnectorError::Failed(message)) = client.send(Method::Get, "/x", None) else {
            panic!("nothing listens there");
        };
        assert!(message.starts_with("HubSpot GET /x"), "{message}");
        assert!(message.contains(&url), "{message}");
        assert!(!message.contains("xoxb-secret-token"));
    }

    #[test]
    fn a_timeout_reads_as_the_config_writes_it() {
        // A server that accepts connections and never answers.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut slow = settings(&format!("http://{}", listener.local_addr().unwrap()));
        slow.timeout = Duration::from_millis(1100);
        let client = HttpClient::new("Slack", "https://slack.com/api", slow).unwrap();
        let Err(ConnectorError::Failed(message)) = client.send(Method::Get, "/x", None) else {
            panic!("nothing answers there");
        };
        assert!(message.contains("no answer within 1s100ms"), "{message}");
        assert_eq!(
            crate::policy::types::parse_duration("1s100ms"),
            Some(1100),
            "the config reads it back"
        );
    }
}
