//! A local Slack Web API that keeps state like the real one: channels with ids (C… public,
//! G… private, D… direct messages) the app is or is not a member of, messages with `ts`,
//! `chat.postMessage`, `chat.delete` (by channel id only, the app's own messages only),
//! `auth.test`, the `ok: false` answers, and a switch that answers HTTP 429 `ratelimited` with
//! `Retry-After`.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use serde_json::{Value as Json, json};

use super::api_server::{Answer, ApiServer, Call};

/// The bot token the fake accepts (shaped like a real one, so a leak would be noticed).
pub const SLACK_TOKEN: &str = "xoxb-1111111111-2222222222-AbCdEfGhIjKlMnOpQrStUvWx";

#[derive(Debug, Clone)]
pub struct Channel {
    pub id: String,
    pub name: String,
    pub is_member: bool,
    pub is_private: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// The channel's id.
    pub channel: String,
    pub ts: String,
    pub text: String,
    pub thread_ts: Option<String>,
    /// Posted by the app (a bot token may delete only these).
    pub by_app: bool,
}

#[derive(Debug)]
pub struct SlackState {
    pub token: String,
    pub scopes: Vec<String>,
    pub channels: Vec<Channel>,
    pub messages: Vec<Message>,
    /// `Some(seconds)`: every call is answered HTTP 429 with that `Retry-After`.
    pub rate_limited: Option<u64>,
    /// Every method called, in order, whatever the answer.
    pub calls: Vec<String>,
    /// The JSON body of each call, in order.
    pub bodies: Vec<Json>,
    next_ts: u64,
}

pub struct SlackApi {
    server: ApiServer,
    pub state: Arc<Mutex<SlackState>>,
}

impl SlackApi {
    /// A workspace with #deploy (C0123DEPLOY) the app is in, public #ops (C0456OPS) and
    /// #random (C0999RANDOM) it is not in, a private #secret (G0123SECRET) it is not in, and a
    /// direct message D024BE91L; the token has `chat:write`.
    pub fn start() -> SlackApi {
        let channel = |id: &str, name: &str, is_member: bool| Channel {
            id: id.into(),
            name: name.into(),
            is_member,
            is_private: id.starts_with('G'),
        };
        let state = Arc::new(Mutex::new(SlackState {
            token: SLACK_TOKEN.to_string(),
            scopes: vec!["chat:write".to_string()],
            channels: vec![
                channel("C0123DEPLOY", "deploy", true),
                channel("C0456OPS", "ops", false),
                channel("C0999RANDOM", "random", false),
                channel("G0123SECRET", "secret", false),
                channel("D024BE91L", "", true),
            ],
            messages: Vec::new(),
            rate_limited: None,
            calls: Vec::new(),
            bodies: Vec::new(),
            next_ts: 1,
        }));
        let shared = Arc::clone(&state);
        let server = ApiServer::start(move |call| handle(&mut shared.lock().unwrap(), call));
        SlackApi { server, state }
    }

    /// The base URL a config points `base_url` at.
    pub fn url(&self) -> String {
        format!("{}/api", self.server.address)
    }

    pub fn messages(&self) -> Vec<Message> {
        self.state.lock().unwrap().messages.clone()
    }

    pub fn calls(&self) -> Vec<String> {
        self.state.lock().unwrap().calls.clone()
    }

    pub fn bodies(&self) -> Vec<Json> {
        self.state.lock().unwrap().bodies.clone()
    }

    pub fn set_rate_limited(&self, retry_after: Option<u64>) {
        self.state.lock().unwrap().rate_limited = retry_after;
    }

    pub fn set_scopes(&self, scopes: &[&str]) {
        self.state.lock().unwrap().scopes = scopes.iter().map(|s| s.to_string()).collect();
    }

    /// A message a person posted: the app's bot token cannot delete it. Returns its ts.
    pub fn add_message_by_someone(&self, channel: &str, text: &str) -> String {
        let mut state = self.state.lock().unwrap();
        let ts = state.next_ts();
        state.messages.push(Message {
            channel: channel.into(),
            ts: ts.clone(),
            text: text.into(),
            thread_ts: None,
            by_app: false,
        });
        ts
    }

    /// Deletes a message as a person would in Slack's own interface.
    pub fn delete_by_hand(&self, ts: &str) {
        self.state.lock().unwrap().messages.retain(|m| m.ts != ts);
    }
}

impl SlackState {
    fn next_ts(&mut self) -> String {
        self.next_ts += 1;
        format!("1712345678.{:06}", self.next_ts * 100)
    }

    fn channel(&self, given: &str) -> Option<&Channel> {
        let name = given.trim_start_matches('#');
        self.channels
            .iter()
            .find(|c| c.id == given || (!c.name.is_empty() && c.name == name))
    }
}

fn fail(error: &str) -> Answer {
    Answer::json(200, json!({"ok": false, "error": error}))
}

fn handle(state: &mut SlackState, call: &Call) -> Answer {
    let Some(method) = call.path.strip_prefix("/api/") else {
        return Answer::json(404, json!({"ok": false, "error": "unknown_method"}));
    };
    state.calls.push(method.to_string());
    let body = call.json().unwrap_or(Json::Null);
    state.bodies.push(body.clone());
    if call.method != "POST" {
        return fail("method_not_supported_for_channel_type");
    }
    if let Some(seconds) = state.rate_limited {
        return Answer::json(429, json!({"ok": false, "error": "ratelimited"}))
            .header("Retry-After", &seconds.to_string());
    }
    match call.bearer() {
        None => return fail("not_authed"),
        Some(token) if token != state.token => return fail("invalid_auth"),
        Some(_) => {}
    }
    let arg = |name: &str| {
        body.get(name)
            .and_then(Json::as_str)
            .unwrap_or("")
            .to_string()
    };
    let needs_scope = |state: &SlackState| {
        (!state.scopes.iter().any(|s| s == "chat:write")).then(|| {
            Answer::json(
                200,
                json!({"ok": false, "error": "missing_scope", "needed": "chat:write",
                       "provided": state.scopes.join(",")}),
            )
        })
    };
    match method {
        "auth.test" => Answer::json(
            200,
            json!({"ok": true, "url": "https://acme.slack.com/", "team": "Acme",
                   "user": "enact", "team_id": "T0001", "user_id": "U0BOT", "bot_id": "B0BOT"}),
        ),
        "chat.postMessage" => {
            if let Some(answer) = needs_scope(state) {
                return answer;
            }
            let Some(channel) = state.channel(&arg("channel")).cloned() else {
                return fail("channel_not_found");
            };
            if !channel.is_member {
                let public_ok =
                    !channel.is_private && state.scopes.iter().any(|s| s == "chat:write.public");
                if channel.is_private {
                    return fail("channel_not_found");
                }
                if !public_ok {
                    return fail("not_in_channel");
                }
            }
            let text = arg("text");
            if text.is_empty() {
                return fail("no_text");
            }
            let thread_ts = arg("thread_ts");
            let thread_ts = if thread_ts.is_empty() {
                None
            } else {
                if !state
                    .messages
                    .iter()
                    .any(|m| m.channel == channel.id && m.ts == thread_ts)
                {
                    return fail("thread_not_found");
                }
                Some(thread_ts)
            };
            let ts = state.next_ts();
            state.messages.push(Message {
                channel: channel.id.clone(),
                ts: ts.clone(),
                text: text.clone(),
                thread_ts,
                by_app: true,
            });
            Answer::json(
                200,
                json!({"ok": true, "channel": channel.id, "ts": ts,
                       "message": {"type": "message", "text": text, "ts": ts, "bot_id": "B0BOT"}}),
            )
        }
        "chat.delete" => {
            if let Some(answer) = needs_scope(state) {
                return answer;
            }
            // Slack's chat.delete takes a channel id, never a name.
            let channel = arg("channel");
            if !state.channels.iter().any(|c| c.id == channel) {
                return fail("channel_not_found");
            }
            let ts = arg("ts");
            let Some(index) = state
                .messages
                .iter()
                .position(|m| m.channel == channel && m.ts == ts)
            else {
                return fail("message_not_found");
            };
            if state.messages.get(index).is_some_and(|m| !m.by_app) {
                return fail("cant_delete_message");
            }
            state.messages.remove(index);
            Answer::json(200, json!({"ok": true, "channel": channel, "ts": ts}))
        }
        _ => Answer::json(404, json!({"ok": false, "error": "unknown_method"})),
    }
}
