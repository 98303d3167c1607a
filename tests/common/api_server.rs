//! A local HTTP server on 127.0.0.1:0 for the API fakes (Slack, HubSpot): each request is read
//! on the accepting thread and answered on its own, so a deliberately slow answer never holds
//! up the next request.
#![allow(dead_code)]

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tiny_http::{Header, Response, Server};

/// One request as the fakes see it.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    /// Without the query string.
    pub path: String,
    pub query: String,
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
    pub body: String,
}

impl Call {
    /// The bearer token, if the request carried one.
    pub fn bearer(&self) -> Option<&str> {
        self.authorization.as_deref()?.strip_prefix("Bearer ")
    }

    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(&self.body).ok()
    }
}

/// An answer: status, JSON (or empty) body, extra headers, and how long to wait first.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: String,
    pub headers: Vec<(String, String)>,
    pub delay: Option<Duration>,
}

impl Answer {
    pub fn json(status: u16, body: serde_json::Value) -> Answer {
        Answer {
            status,
            body: body.to_string(),
            headers: Vec::new(),
            delay: None,
        }
    }

    pub fn empty(status: u16) -> Answer {
        Answer {
            status,
            body: String::new(),
            headers: Vec::new(),
            delay: None,
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Answer {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
}

/// A running server; stops accepting when dropped.
pub struct ApiServer {
    server: Arc<Server>,
    pub address: String,
    thread: Option<JoinHandle<()>>,
}

impl ApiServer {
    pub fn start<F>(handler: F) -> ApiServer
    where
        F: Fn(&Call) -> Answer + Send + Sync + 'static,
    {
        let server = Arc::new(Server::http("127.0.0.1:0").unwrap());
        let address = format!("http://{}", server.server_addr().to_ip().unwrap());
        let handler = Arc::new(handler);
        let accepting = Arc::clone(&server);
        let thread = std::thread::spawn(move || {
            for mut request in accepting.incoming_requests() {
                let mut body = String::new();
                let _ = request.as_reader().read_to_string(&mut body);
                let (path, query) = match request.url().split_once('?') {
                    Some((p, q)) => (p.to_string(), q.to_string()),
                    None => (request.url().to_string(), String::new()),
                };
                let call = Call {
                    method: request.method().as_str().to_uppercase(),
                    path,
                    query,
                    authorization: request
                        .headers()
                        .iter()
                        .find(|h| h.field.equiv("Authorization"))
                        .map(|h| h.value.as_str().to_string()),
                    body,
                };
                let handler = Arc::clone(&handler);
                std::thread::spawn(move || {
                    let answer = handler(&call);
                    if let Some(delay) = answer.delay {
                        std::thread::sleep(delay);
                    }
                    let mut response =
                        Response::from_string(answer.body.clone()).with_status_code(answer.status);
                    if !answer.body.is_empty() {
                        response = response.with_header(
                            Header::from_bytes("Content-Type", "application/json; charset=utf-8")
                                .unwrap(),
                        );
                    }
                    for (name, value) in &answer.headers {
                        response = response.with_header(
                            Header::from_bytes(name.as_bytes(), value.as_bytes()).unwrap(),
                        );
                    }
                    // The client may have given up (a timeout test): nothing to do then.
                    let _ = request.respond(response);
                });
            }
        });
        ApiServer {
            server,
            address,
            thread: Some(thread),
        }
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
