//! The `slack` connector: post and delete messages through Slack's Web API
//! (`chat.postMessage`, `chat.delete`). Rollback deletes a posted message by the `ts` and the
//! channel id Slack returned; Slack's `ok: false` answers become failed steps that say how to
//! fix them.

use serde_json::{Map, Value as Json, json};

use super::http::{HttpClient, HttpResponse, HttpSettings, Method};
use super::{
    ActionOutcome, ActionSpec, Connector, ConnectorError, Effect, Inverse, ParamSpec, ParamType,
    UndoOutcome, check_args, find_action,
};

pub const KIND: &str = "slack";

/// Slack's Web API.
pub const DEFAULT_BASE_URL: &str = "https://slack.com/api";

const CHANNEL: ParamSpec = ParamSpec {
    name: "channel",
    ty: ParamType::String,
    required: true,
    description: "the channel's id (C…, G…; D… is a direct message) or its name",
};

pub const ACTIONS: &[ActionSpec] = &[
    ActionSpec {
        name: "post_message",
        description: "Post a message to a channel or thread (chat.postMessage). Not idempotent: \
                      Slack cannot tell a retry from a new message, so running it twice posts \
                      twice.",
        params: &[
            CHANNEL,
            ParamSpec {
                name: "text",
                ty: ParamType::String,
                required: true,
                description: "the message, in Slack's mrkdwn",
            },
            ParamSpec {
                name: "thread_ts",
                ty: ParamType::String,
                required: false,
                description: "the `ts` of the message to reply to in its thread (empty: none)",
            },
        ],
        effect: Effect::Mutating,
        inverse: Inverse::Reversible {
            name: "delete_posted_message",
            description: "delete the message by the `ts` and channel id Slack returned \
                          (chat.delete)",
        },
    },
    ActionSpec {
        name: "delete_message",
        description: "Delete a message by its channel id and `ts` (chat.delete). A bot token \
                      deletes only the app's own messages.",
        params: &[
            ParamSpec {
                name: "channel",
                ty: ParamType::String,
                required: true,
                description: "the channel's id (C…, G…, D…)",
            },
            ParamSpec {
                name: "ts",
                ty: ParamType::String,
                required: true,
                description: "the message's timestamp id, like 1712345678.000100",
            },
        ],
        effect: Effect::Mutating,
        inverse: Inverse::Irreversible {
            by_hand: "Slack cannot bring a deleted message back; post its text again by hand \
                      if it should return (its author and time cannot be restored)",
        },
    },
];

/// A Slack workspace, reached with one token.
#[derive(Debug)]
pub struct SlackConnector {
    client: HttpClient,
}

impl SlackConnector {
    /// A connector at `settings.base_url` (Slack's Web API when unset). Nothing is sent until
    /// a step runs.
    pub fn new(settings: HttpSettings) -> Result<Self, ConnectorError> {
        Ok(SlackConnector {
            client: HttpClient::new("Slack", DEFAULT_BASE_URL, settings)?,
        })
    }

    /// Calls a Web API method with a JSON body; the answer's fields on `ok: true`, else a
    /// failure naming the method, Slack's error code and the fix. `unknown` says what may
    /// have happened when the call did not come back (posted or not).
    fn call(&self, method: &str, body: &Json, unknown: &str) -> Result<Json, SlackFailure> {
        let response = self
            .client
            .send(Method::Post, method, Some(body))
            .map_err(|e| SlackFailure::Transport(format!("{e}; {unknown}")))?;
        if response.status == 429 {
            return Err(SlackFailure::Api {
                code: "ratelimited".to_string(),
                message: format!(
                    "Slack rate-limited {method} (HTTP 429), so nothing was done; {}",
                    response.retry_hint()
                ),
            });
        }
        if response.body.get("ok") == Some(&Json::Bool(true)) {
            return Ok(response.body);
        }
        Err(self.api_error(method, body, &response, unknown))
    }

    fn api_error(
        &self,
        method: &str,
        request: &Json,
        response: &HttpResponse,
        unknown: &str,
    ) -> SlackFailure {
        let Some(code) = response.body.get("error").and_then(Json::as_str) else {
            return SlackFailure::Transport(self.client.scrub(&format!(
                "Slack answered {method} with HTTP {} and no Slack answer{}; {unknown}",
                response.status,
                if response.text.is_empty() {
                    String::new()
                } else {
                    format!(" (`{}`)", response.text)
                }
            )));
        };
        let channel = request
            .get("channel")
            .and_then(Json::as_str)
            .unwrap_or_default();
        let token_env = self.client.token_env();
        let fix = match code {
            "channel_not_found" => {
                "no channel by that id or name is visible to this token; use the channel's id \
                 (C…), and for a private channel invite the app first"
                    .to_string()
            }
            "not_in_channel" => "the app is not a member of the channel; invite it there \
                                 (`/invite @your-app`), or give it the `chat:write.public` \
                                 scope to post in public channels without joining"
                .to_string(),
            "is_archived" => "the channel is archived; unarchive it or post elsewhere".to_string(),
            "missing_scope" => {
                let needed = response
                    .body
                    .get("needed")
                    .and_then(Json::as_str)
                    .unwrap_or("(not named)");
                let provided = response
                    .body
                    .get("provided")
                    .and_then(Json::as_str)
                    .unwrap_or("(not named)");
                format!(
                    "the token lacks the scope `{needed}` (it has: {provided}); add it under \
                     OAuth & Permissions, reinstall the app and update `{token_env}`"
                )
            }
            "not_authed"
            | "invalid_auth"
            | "account_inactive"
            | "token_revoked"
            | "token_expired"
            | "no_permission"
            | "not_allowed_token_type" => format!(
                "Slack refused the token in `{token_env}`; set it to a current bot token \
                 (xoxb-…) of an app installed in this workspace"
            ),
            "ratelimited" => format!("Slack rate-limited the call; {}", response.retry_hint()),
            "message_not_found" => "no message with that `ts` in the channel".to_string(),
            "cant_delete_message" => "this token may not delete that message: a bot token \
                                      deletes only the app's own messages; deleting others' \
                                      needs a user token of a workspace admin"
                .to_string(),
            "msg_too_long" => {
                "the text is longer than Slack accepts (40,000 characters)".to_string()
            }
            "no_text" => "the message has no text".to_string(),
            "thread_not_found" => "no message with that `thread_ts` in the channel".to_string(),
            "restricted_action" | "restricted_action_read_only_channel" => {
                "a workspace setting forbids this app to post there".to_string()
            }
            _ => format!("see https://api.slack.com/methods/{method} for `{code}`"),
        };
        let place = if channel.is_empty() {
            String::new()
        } else {
            format!(" in `{channel}`")
        };
        SlackFailure::Api {
            code: code.to_string(),
            message: self
                .client
                .scrub(&format!("Slack refused {method}{place}: `{code}` — {fix}")),
        }
    }

    fn post_message(
        &self,
        args: &Json,
        prepared: &mut dyn FnMut(&Json) -> Result<(), String>,
    ) -> Result<ActionOutcome, ConnectorError> {
        let channel = str_arg(args, "channel");
        let text = str_arg(args, "text");
        let thread_ts = str_arg(args, "thread_ts");
        if channel.trim().is_empty() {
            return Err(ConnectorError::BadArgs(
                "`post_message` needs a non-empty `channel`".to_string(),
            ));
        }
        let mut body = Map::new();
        body.insert("channel".into(), json!(channel));
        body.insert("text".into(), json!(text));
        let mut rollback_data = Map::new();
        rollback_data.insert("channel".into(), json!(channel));
        if !thread_ts.is_empty() {
            body.insert("thread_ts".into(), json!(thread_ts));
            rollback_data.insert("thread_ts".into(), json!(thread_ts));
        }
        // Nothing exists before a post; what rollback needs (the ts) only comes back after it.
        let rollback_data = Json::Object(rollback_data);
        prepared(&rollback_data).map_err(ConnectorError::NotJournaled)?;
        let unknown = format!(
            "the message may or may not have been posted — look in `{channel}` before running \
             this again"
        );
        let answer = self
            .call("chat.postMessage", &Json::Object(body), &unknown)
            .map_err(SlackFailure::into_error)?;
        let posted_channel = answer.get("channel").and_then(Json::as_str);
        let ts = answer.get("ts").and_then(Json::as_str);
        let (Some(posted_channel), Some(ts)) = (posted_channel, ts) else {
            return Err(ConnectorError::Failed(format!(
                "Slack answered chat.postMessage with ok but without `channel` and `ts`; the \
                 message was probably posted in `{channel}` and must be deleted by hand if it \
                 should go"
            )));
        };
        let mut output = Map::new();
        output.insert("channel".into(), json!(posted_channel));
        output.insert("ts".into(), json!(ts));
        if !thread_ts.is_empty() {
            output.insert("thread_ts".into(), json!(thread_ts));
        }
        Ok(ActionOutcome {
            output: Json::Object(output),
            already_done: None,
            rollback_data,
        })
    }

    /// `chat.delete`; `message_not_found` means the message is already gone.
    fn delete(&self, channel: &str, ts: &str) -> Result<Option<&'static str>, ConnectorError> {
        let unknown = format!(
            "the message may or may not have been deleted — look for `{ts}` in `{channel}`"
        );
        match self.call(
            "chat.delete",
            &json!({"channel": channel, "ts": ts}),
            &unknown,
        ) {
            Ok(_) => Ok(None),
            Err(SlackFailure::Api { code, .. }) if code == "message_not_found" => {
                Ok(Some("absent"))
            }
            Err(failure) => Err(failure.into_error()),
        }
    }

    fn delete_message(
        &self,
        args: &Json,
        prepared: &mut dyn FnMut(&Json) -> Result<(), String>,
    ) -> Result<ActionOutcome, ConnectorError> {
        let channel = str_arg(args, "channel");
        let ts = str_arg(args, "ts");
        // Slack offers no way to read a message back without another scope, so the intent
        // is journalled and the call tells whether the message was still there.
        let rollback_data = json!({"channel": channel, "ts": ts});
        prepared(&rollback_data).map_err(ConnectorError::NotJournaled)?;
        let already_done = self.delete(channel, ts)?;
        Ok(ActionOutcome {
            output: json!({"channel": channel, "ts": ts, "deleted": already_done.is_none()}),
            already_done,
            rollback_data,
        })
    }

    /// delete_posted_message: the inverse of post_message.
    fn delete_posted_message(
        &self,
        args: &Json,
        output: &Json,
    ) -> Result<UndoOutcome, ConnectorError> {
        const INVERSE: &str = "delete_posted_message";
        let channel = output.get("channel").and_then(Json::as_str);
        let ts = output.get("ts").and_then(Json::as_str);
        let (Some(channel), Some(ts)) = (channel, ts) else {
            return Err(ConnectorError::CannotUndo(format!(
                "the run stopped while posting to `{}`, so Enact does not know whether the \
                 message was posted nor its `ts`; look in the channel and delete it by hand if \
                 it is there",
                str_arg(args, "channel")
            )));
        };
        let already_done = self.delete(channel, ts)?;
        Ok(UndoOutcome {
            action: INVERSE,
            output: json!({"channel": channel, "ts": ts, "deleted": already_done.is_none()}),
            already_done,
        })
    }
}

/// Why a Web API call did not succeed.
enum SlackFailure {
    /// Slack answered `ok: false` (or HTTP 429): nothing was done.
    Api { code: String, message: String },
    /// No Slack answer: the outcome is unknown, and the message says so.
    Transport(String),
}

impl SlackFailure {
    fn into_error(self) -> ConnectorError {
        match self {
            SlackFailure::Api { message, .. } | SlackFailure::Transport(message) => {
                ConnectorError::Failed(message)
            }
        }
    }
}

impl Connector for SlackConnector {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn actions(&self) -> &'static [ActionSpec] {
        ACTIONS
    }

    fn execute(
        &self,
        action: &str,
        args: &Json,
        prepared: &mut dyn FnMut(&Json) -> Result<(), String>,
    ) -> Result<ActionOutcome, ConnectorError> {
        let spec = find_action(KIND, ACTIONS, action)?;
        check_args(spec, args)?;
        match spec.name {
            "post_message" => self.post_message(args, prepared),
            _ => self.delete_message(args, prepared),
        }
    }

    fn undo(
        &self,
        action: &str,
        args: &Json,
        output: &Json,
        _rollback_data: &Json,
    ) -> Result<UndoOutcome, ConnectorError> {
        let spec = find_action(KIND, ACTIONS, action)?;
        match spec.name {
            "post_message" => self.delete_posted_message(args, output),
            name => Err(ConnectorError::CannotUndo(format!(
                "`{name}` cannot be undone: Slack cannot bring a deleted message back"
            ))),
        }
    }
}

fn str_arg<'a>(args: &'a Json, name: &str) -> &'a str {
    args.get(name).and_then(Json::as_str).unwrap_or_default()
}
