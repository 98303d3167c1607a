//! The `hubspot` connector: find and create contacts and create follow-up tasks through
//! HubSpot's CRM v3 API. `find_contact` is read-only and answers policies' lookups
//! (`lookup hubspot.find_contact(email: ...)`); creates are reversed by deleting what was
//! created, and an existing contact is never created twice nor deleted by rollback.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde_json::{Map, Value as Json, json};

use super::http::{HttpClient, HttpResponse, HttpSettings, Method};
use super::{
    ActionOutcome, ActionSpec, Connector, ConnectorError, Effect, Inverse, ParamSpec, ParamType,
    UndoOutcome, check_args, find_action,
};

pub const KIND: &str = "hubspot";

/// HubSpot's API.
pub const DEFAULT_BASE_URL: &str = "https://api.hubapi.com";

/// HubSpot's default (`HUBSPOT_DEFINED`) association type from a task to a contact.
pub const TASK_TO_CONTACT: u32 = 204;

/// The contact properties searches ask for and outputs show.
const CONTACT_PROPERTIES: [&str; 5] = ["email", "firstname", "lastname", "phone", "company"];

/// At most this many matching contacts come back from one search.
const SEARCH_LIMIT: u32 = 10;

const EMAIL: ParamSpec = ParamSpec {
    name: "email",
    ty: ParamType::String,
    required: true,
    description: "the contact's email address",
};

const fn optional_text(name: &'static str, description: &'static str) -> ParamSpec {
    ParamSpec {
        name,
        ty: ParamType::String,
        required: false,
        description,
    }
}

pub const ACTIONS: &[ActionSpec] = &[
    ActionSpec {
        name: "find_contact",
        description: "Find the contacts with an email address (a CRM search); also answers \
                      policies' `lookup hubspot.find_contact(email: ...)` with the list of \
                      matching contacts, empty when there is none.",
        params: &[EMAIL],
        effect: Effect::ReadOnly,
        inverse: Inverse::None,
    },
    ActionSpec {
        name: "create_contact",
        description: "Create a contact unless one with that email exists (then nothing \
                      changes: already_done `exists`, and the existing contact's id is the \
                      output). Empty optional fields are left out.",
        params: &[
            EMAIL,
            optional_text("firstname", "the first name"),
            optional_text("lastname", "the last name"),
            optional_text("phone", "the phone number"),
            optional_text("company", "the company name"),
            ParamSpec {
                name: "properties",
                ty: ParamType::Map,
                required: false,
                description: "other HubSpot contact properties by internal name, \
                              {name: text, number or bool}",
            },
        ],
        effect: Effect::Mutating,
        inverse: Inverse::Reversible {
            name: "delete_created_contact",
            description: "delete the contact Enact created, by its id (a contact that \
                          already existed is never touched)",
        },
    },
    ActionSpec {
        name: "create_task",
        description: "Create a task associated with a contact (HubSpot's default task → \
                      contact association). Not idempotent: tasks have no natural key, so a \
                      retry creates a second task — crm.limit_tasks_per_contact bounds them.",
        params: &[
            ParamSpec {
                name: "contact_id",
                ty: ParamType::String,
                required: true,
                description: "the contact's HubSpot id (digits)",
            },
            ParamSpec {
                name: "subject",
                ty: ParamType::String,
                required: true,
                description: "the task's title",
            },
            optional_text("body", "the task's notes"),
            optional_text(
                "due",
                "when it is due: an RFC 3339 time or a date (YYYY-MM-DD, midnight UTC); \
                 empty or absent: now",
            ),
        ],
        effect: Effect::Mutating,
        inverse: Inverse::Reversible {
            name: "delete_created_task",
            description: "delete the task by its id",
        },
    },
];

/// A HubSpot account, reached with a private app's access token.
#[derive(Debug)]
pub struct HubspotConnector {
    client: HttpClient,
}

/// What a call that fails may have done, for the message.
#[derive(Clone, Copy)]
enum IfItFails {
    /// A read: nothing changed.
    NothingChanged,
    /// A write (named: "contact's creation"), whose outcome is unknown when no clear answer
    /// came back.
    MayHaveChanged(&'static str),
}

impl HubspotConnector {
    /// A connector at `settings.base_url` (HubSpot's API when unset). Nothing is sent until a
    /// step or lookup needs it.
    pub fn new(settings: HttpSettings) -> Result<Self, ConnectorError> {
        Ok(HubspotConnector {
            client: HttpClient::new("HubSpot", DEFAULT_BASE_URL, settings)?,
        })
    }

    fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Json>,
        if_it_fails: IfItFails,
    ) -> Result<HttpResponse, ConnectorError> {
        self.client
            .send(method, path, body)
            .map_err(|error| match (error, if_it_fails) {
                (ConnectorError::Failed(message), IfItFails::MayHaveChanged(what)) => {
                    ConnectorError::Failed(format!(
                        "{message}; the {what} may or may not have happened — check HubSpot \
                         before running this again"
                    ))
                }
                (error, _) => error,
            })
    }

    /// A failed answer as a message naming the call, HubSpot's own words and the fix.
    fn failure(
        &self,
        call: &str,
        response: &HttpResponse,
        if_it_fails: IfItFails,
    ) -> ConnectorError {
        let said = response
            .body
            .get("message")
            .and_then(Json::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| {
                if response.text.is_empty() {
                    "no message".to_string()
                } else {
                    format!("`{}`", response.text)
                }
            });
        let category = response
            .body
            .get("category")
            .and_then(Json::as_str)
            .unwrap_or_default();
        let status = response.status;
        let message = match status {
            401 => format!(
                "HubSpot refused the token in `{}` for {call} (HTTP 401: {said}); set it to the \
                 access token of a private app in this account (pat-…)",
                self.client.token_env()
            ),
            403 => {
                let scopes = required_scopes(&response.body);
                format!(
                    "HubSpot forbade {call} (HTTP 403 {category}: {said}); the private app \
                     needs the scope{} {} — add it under the app's Scopes and update the token",
                    if scopes.contains(',') { "s" } else { "" },
                    if scopes.is_empty() {
                        "crm.objects.contacts.read and crm.objects.contacts.write".to_string()
                    } else {
                        scopes
                    }
                )
            }
            429 => format!(
                "HubSpot rate-limited {call} (HTTP 429{}: {said}), so nothing was done; {}",
                response
                    .body
                    .get("policyName")
                    .and_then(Json::as_str)
                    .map(|p| format!(", {p} limit"))
                    .unwrap_or_default(),
                response.retry_hint()
            ),
            500.. => match if_it_fails {
                IfItFails::NothingChanged => {
                    format!("HubSpot failed {call} (HTTP {status}: {said})")
                }
                IfItFails::MayHaveChanged(what) => format!(
                    "HubSpot failed {call} (HTTP {status}: {said}); the {what} may or may not \
                     have happened — check HubSpot before running this again"
                ),
            },
            _ => format!(
                "HubSpot refused {call} (HTTP {status}{}: {said})",
                if category.is_empty() {
                    String::new()
                } else {
                    format!(" {category}")
                }
            ),
        };
        ConnectorError::Failed(self.client.scrub(&message))
    }

    /// The contacts whose email is `email` (HubSpot compares emails case-insensitively).
    fn search_contacts(&self, email: &str) -> Result<Vec<Json>, ConnectorError> {
        let body = json!({
            "filterGroups": [{"filters": [
                {"propertyName": "email", "operator": "EQ", "value": email}
            ]}],
            "properties": CONTACT_PROPERTIES,
            "limit": SEARCH_LIMIT,
        });
        let path = "/crm/v3/objects/contacts/search";
        let response = self.send(Method::Post, path, Some(&body), IfItFails::NothingChanged)?;
        if !response.is_success() {
            return Err(self.failure(
                &format!("the search for contact `{email}`"),
                &response,
                IfItFails::NothingChanged,
            ));
        }
        let Some(results) = response.body.get("results").and_then(Json::as_array) else {
            return Err(ConnectorError::Failed(format!(
                "HubSpot answered the search for contact `{email}` without `results`"
            )));
        };
        Ok(results.iter().map(contact_json).collect())
    }

    fn find_contact(&self, args: &Json) -> Result<ActionOutcome, ConnectorError> {
        let email = email_arg(args, "find_contact")?;
        let contacts = self.search_contacts(email)?;
        Ok(ActionOutcome {
            output: json!({"email": email, "count": contacts.len(), "contacts": contacts}),
            already_done: None,
            rollback_data: Json::Null,
        })
    }

    fn create_contact(
        &self,
        args: &Json,
        prepared: &mut dyn FnMut(&Json) -> Result<(), String>,
    ) -> Result<ActionOutcome, ConnectorError> {
        let email = email_arg(args, "create_contact")?;
        let properties = contact_properties(email, args)?;
        if let Some(existing) = self.search_contacts(email)?.into_iter().next() {
            return Ok(exists(email, existing));
        }
        let rollback_data = json!({"email": email});
        prepared(&rollback_data).map_err(ConnectorError::NotJournaled)?;
        let call = format!("creating contact `{email}`");
        let if_it_fails = IfItFails::MayHaveChanged("contact's creation");
        let body = json!({"properties": properties});
        let response = self.send(
            Method::Post,
            "/crm/v3/objects/contacts",
            Some(&body),
            if_it_fails,
        )?;
        if response.status == 409 {
            // Created by someone else between the search and the create: it exists, and it is
            // not Enact's to delete. The rollback data stays what was journalled.
            if let Some(existing) = self.search_contacts(email)?.into_iter().next() {
                return Ok(ActionOutcome {
                    rollback_data,
                    ..exists(email, existing)
                });
            }
        }
        if !response.is_success() {
            return Err(self.failure(&call, &response, if_it_fails));
        }
        let contact = contact_json(&response.body);
        let Some(id) = contact.get("id").and_then(Json::as_str).map(str::to_string) else {
            return Err(ConnectorError::Failed(format!(
                "HubSpot answered {call} without the new contact's id; it was probably \
                 created — find `{email}` in HubSpot and delete it by hand if it should go"
            )));
        };
        Ok(ActionOutcome {
            output: json!({"id": id, "email": email, "created": true, "contact": contact}),
            already_done: None,
            rollback_data,
        })
    }

    fn create_task(
        &self,
        args: &Json,
        prepared: &mut dyn FnMut(&Json) -> Result<(), String>,
    ) -> Result<ActionOutcome, ConnectorError> {
        let contact_id = id_arg(args.get("contact_id"), "contact_id")?;
        let subject = str_arg(args, "subject").trim();
        if subject.is_empty() {
            return Err(ConnectorError::BadArgs(
                "`create_task` needs a non-empty `subject`".to_string(),
            ));
        }
        let body_text = str_arg(args, "body");
        let due = due_time(str_arg(args, "due"))?;

        // A task for a contact that does not exist would fail half-way in HubSpot: say so
        // before anything is sent that changes something.
        let path = format!("/crm/v3/objects/contacts/{contact_id}");
        let response = self.send(Method::Get, &path, None, IfItFails::NothingChanged)?;
        if response.status == 404 {
            return Err(ConnectorError::Failed(format!(
                "HubSpot has no contact `{contact_id}`, so no task was created; create the \
                 contact first (hubspot.create_contact gives its id)"
            )));
        }
        if !response.is_success() {
            return Err(self.failure(
                &format!("reading contact `{contact_id}`"),
                &response,
                IfItFails::NothingChanged,
            ));
        }

        let mut properties = Map::new();
        properties.insert("hs_task_subject".into(), json!(subject));
        if !body_text.is_empty() {
            properties.insert("hs_task_body".into(), json!(body_text));
        }
        properties.insert("hs_timestamp".into(), json!(due));
        properties.insert("hs_task_status".into(), json!("NOT_STARTED"));
        let request = json!({
            "properties": properties,
            "associations": [{
                "to": {"id": contact_id},
                "types": [{
                    "associationCategory": "HUBSPOT_DEFINED",
                    "associationTypeId": TASK_TO_CONTACT,
                }],
            }],
        });
        let rollback_data = json!({"contact_id": contact_id, "subject": subject});
        prepared(&rollback_data).map_err(ConnectorError::NotJournaled)?;
        let call = format!("creating a task for contact `{contact_id}`");
        let if_it_fails = IfItFails::MayHaveChanged("task's creation");
        let response = self.send(
            Method::Post,
            "/crm/v3/objects/tasks",
            Some(&request),
            if_it_fails,
        )?;
        if !response.is_success() {
            return Err(self.failure(&call, &response, if_it_fails));
        }
        let Some(id) = object_id(&response.body) else {
            return Err(ConnectorError::Failed(format!(
                "HubSpot answered {call} without the new task's id; it was probably created — \
                 delete the task `{subject}` of that contact by hand if it should go"
            )));
        };
        Ok(ActionOutcome {
            output: json!({
                "id": id,
                "contact_id": contact_id,
                "subject": subject,
                "due": due,
            }),
            already_done: None,
            rollback_data,
        })
    }

    /// DELETEs one object; a 404 means it is already gone.
    fn delete_object(
        &self,
        inverse: &'static str,
        object: &str,
        id: &str,
    ) -> Result<UndoOutcome, ConnectorError> {
        let path = format!("/crm/v3/objects/{object}/{id}");
        let singular = object.trim_end_matches('s');
        let if_it_fails = IfItFails::MayHaveChanged(if object == "contacts" {
            "contact's deletion"
        } else {
            "task's deletion"
        });
        let response = self.send(Method::Delete, &path, None, if_it_fails)?;
        let already_done = match response.status {
            404 => Some("absent"),
            _ if response.is_success() => None,
            _ => {
                return Err(self.failure(
                    &format!("deleting {singular} `{id}`"),
                    &response,
                    if_it_fails,
                ));
            }
        };
        Ok(UndoOutcome {
            action: inverse,
            output: json!({"id": id, "deleted": already_done.is_none()}),
            already_done,
        })
    }

    fn delete_created_contact(
        &self,
        args: &Json,
        output: &Json,
        rollback_data: &Json,
    ) -> Result<UndoOutcome, ConnectorError> {
        const INVERSE: &str = "delete_created_contact";
        if output.get("created") == Some(&Json::Bool(false)) {
            return Ok(UndoOutcome {
                action: INVERSE,
                output: json!({"deleted": false}),
                already_done: Some("exists"),
            });
        }
        if let Some(id) = output.get("id") {
            let id = id_arg(Some(id), "id").map_err(|e| {
                ConnectorError::CannotUndo(format!(
                    "the recorded contact id is unusable ({e}); delete the contact by hand"
                ))
            })?;
            return self.delete_object(INVERSE, "contacts", id);
        }
        // The run stopped during the create: whether it happened is unknown.
        let email = rollback_data
            .get("email")
            .and_then(Json::as_str)
            .unwrap_or_else(|| str_arg(args, "email"));
        match self.search_contacts(email)?.first() {
            None => Ok(UndoOutcome {
                action: INVERSE,
                output: json!({"email": email, "deleted": false}),
                already_done: Some("absent"),
            }),
            Some(contact) => Err(ConnectorError::CannotUndo(format!(
                "the run stopped while creating contact `{email}`, and HubSpot now has a \
                 contact with that email (id {}); Enact cannot tell whether it created it — \
                 check it in HubSpot and delete it by hand if it is Enact's",
                contact.get("id").unwrap_or(&Json::Null)
            ))),
        }
    }

    fn delete_created_task(
        &self,
        args: &Json,
        output: &Json,
    ) -> Result<UndoOutcome, ConnectorError> {
        const INVERSE: &str = "delete_created_task";
        let Some(id) = output.get("id") else {
            return Err(ConnectorError::CannotUndo(format!(
                "the run stopped while creating task `{}` for contact `{}`, so Enact does not \
                 know whether it was created nor its id; look at the contact's tasks in HubSpot \
                 and delete it by hand if it is there",
                str_arg(args, "subject"),
                str_arg(args, "contact_id")
            )));
        };
        let id = id_arg(Some(id), "id").map_err(|e| {
            ConnectorError::CannotUndo(format!(
                "the recorded task id is unusable ({e}); delete the task by hand"
            ))
        })?;
        self.delete_object(INVERSE, "tasks", id)
    }
}

impl Connector for HubspotConnector {
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
            "find_contact" => self.find_contact(args),
            "create_contact" => self.create_contact(args, prepared),
            _ => self.create_task(args, prepared),
        }
    }

    fn undo(
        &self,
        action: &str,
        args: &Json,
        output: &Json,
        rollback_data: &Json,
    ) -> Result<UndoOutcome, ConnectorError> {
        let spec = find_action(KIND, ACTIONS, action)?;
        match spec.name {
            "create_contact" => self.delete_created_contact(args, output, rollback_data),
            "create_task" => self.delete_created_task(args, output),
            name => Err(ConnectorError::BadArgs(format!(
                "`{name}` is read-only: there is nothing to undo"
            ))),
        }
    }

    /// `find_contact` only: the matching contacts as a list, empty when there is none.
    fn lookup(&self, query: &str, args: &Json) -> Result<Json, ConnectorError> {
        let spec = find_action(KIND, ACTIONS, query)?;
        if spec.effect != Effect::ReadOnly {
            return Err(ConnectorError::UnknownAction {
                connector: KIND,
                action: query.to_string(),
                hint: " that answers lookups; only read-only queries do: find_contact".to_string(),
            });
        }
        check_args(spec, args)?;
        let email = email_arg(args, "find_contact")?;
        Ok(Json::Array(self.search_contacts(email)?))
    }
}

fn str_arg<'a>(args: &'a Json, name: &str) -> &'a str {
    args.get(name).and_then(Json::as_str).unwrap_or_default()
}

fn email_arg<'a>(args: &'a Json, action: &str) -> Result<&'a str, ConnectorError> {
    let email = str_arg(args, "email").trim();
    if email.is_empty() {
        return Err(ConnectorError::BadArgs(format!(
            "`{action}` needs a non-empty `email`"
        )));
    }
    Ok(email)
}

/// A HubSpot object id: digits only, so it can never change the path it is put in.
fn id_arg<'a>(value: Option<&'a Json>, name: &str) -> Result<&'a str, ConnectorError> {
    match value.and_then(Json::as_str) {
        Some(id) if !id.is_empty() && id.len() <= 32 && id.bytes().all(|b| b.is_ascii_digit()) => {
            Ok(id)
        }
        _ => Err(ConnectorError::BadArgs(format!(
            "`{name}` must be a HubSpot id (digits, as a string like \"101\"), not {}",
            value.unwrap_or(&Json::Null)
        ))),
    }
}

/// `hs_timestamp`: the given time in UTC with milliseconds, or now.
fn due_time(text: &str) -> Result<String, ConnectorError> {
    let text = text.trim();
    let time = if text.is_empty() {
        Utc::now()
    } else if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        time.with_timezone(&Utc)
    } else if let Some(midnight) = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
    {
        midnight.and_utc()
    } else {
        return Err(ConnectorError::BadArgs(format!(
            "`due` must be an RFC 3339 time (2026-05-01T09:00:00Z) or a date (2026-05-01), not \
             `{text}`"
        )));
    };
    Ok(time.to_rfc3339_opts(SecondsFormat::Millis, true))
}

/// The properties of a new contact: the email, the named fields that are not empty, and
/// `properties` (text, numbers and bools, as HubSpot takes them: text).
fn contact_properties(email: &str, args: &Json) -> Result<Map<String, Json>, ConnectorError> {
    let mut properties = Map::new();
    if let Some(extra) = args.get("properties").and_then(Json::as_object) {
        for (name, value) in extra {
            if CONTACT_PROPERTIES.contains(&name.as_str()) {
                return Err(ConnectorError::BadArgs(format!(
                    "give `{name}` as its own parameter of `create_contact`, not in `properties`"
                )));
            }
            let text = match value {
                Json::String(s) => s.clone(),
                Json::Number(n) => n.to_string(),
                Json::Bool(b) => b.to_string(),
                Json::Null => continue,
                other => {
                    return Err(ConnectorError::BadArgs(format!(
                        "contact property `{name}` must be text, a number or a bool, not {other}"
                    )));
                }
            };
            properties.insert(name.clone(), json!(text));
        }
    }
    properties.insert("email".into(), json!(email));
    for name in ["firstname", "lastname", "phone", "company"] {
        let value = str_arg(args, name).trim();
        if !value.is_empty() {
            properties.insert(name.into(), json!(value));
        }
    }
    Ok(properties)
}

/// HubSpot's object id, which it writes as a string (a number is accepted too).
fn object_id(object: &Json) -> Option<String> {
    match object.get("id")? {
        Json::String(id) if !id.is_empty() => Some(id.clone()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A contact as outputs and lookups show it: `{id, email, firstname, ...}`, its non-null
/// properties beside its id.
fn contact_json(object: &Json) -> Json {
    let mut contact = Map::new();
    if let Some(id) = object_id(object) {
        contact.insert("id".into(), json!(id));
    }
    if let Some(properties) = object.get("properties").and_then(Json::as_object) {
        for (name, value) in properties {
            if !value.is_null() && name != "hs_object_id" {
                contact.insert(name.clone(), value.clone());
            }
        }
    }
    Json::Object(contact)
}

/// The outcome of creating a contact that already exists: nothing changed, nothing to undo.
fn exists(email: &str, existing: Json) -> ActionOutcome {
    ActionOutcome {
        output: json!({
            "id": existing.get("id").cloned().unwrap_or(Json::Null),
            "email": email,
            "created": false,
            "contact": existing,
        }),
        already_done: Some("exists"),
        rollback_data: Json::Null,
    }
}

/// The scopes a 403 names (`errors[].context.requiredGranularScopes`), comma-separated.
fn required_scopes(body: &Json) -> String {
    let mut scopes: Vec<&str> = Vec::new();
    for error in body
        .get("errors")
        .and_then(Json::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        for scope in error
            .pointer("/context/requiredGranularScopes")
            .and_then(Json::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            if let Some(scope) = scope.as_str()
                && !scopes.contains(&scope)
            {
                scopes.push(scope);
            }
        }
    }
    scopes.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_digits_only_so_no_path_can_be_smuggled_in() {
        assert_eq!(id_arg(Some(&json!("101")), "contact_id").unwrap(), "101");
        for bad in [
            json!("../contacts/1"),
            json!("1?archived=true"),
            json!(""),
            json!(101),
            json!("1 2"),
        ] {
            assert!(id_arg(Some(&bad), "contact_id").is_err(), "{bad}");
        }
        assert!(id_arg(None, "contact_id").is_err());
    }

    #[test]
    fn due_times_are_utc_with_milliseconds() {
        assert_eq!(
            due_time("2026-05-01T11:00:00+02:00").unwrap(),
            "2026-05-01T09:00:00.000Z"
        );
        assert_eq!(due_time("2026-05-01").unwrap(), "2026-05-01T00:00:00.000Z");
        assert!(due_time("").unwrap().ends_with('Z'));
        let Err(ConnectorError::BadArgs(message)) = due_time("next tuesday") else {
            panic!("a bad due date is refused");
        };
        assert!(message.contains("RFC 3339"), "{message}");
    }

    #[test]
    fn contact_properties_leave_empty_fields_out_and_refuse_nested_values() {
        let properties = contact_properties(
            "ada@example.com",
            &json!({"email": "ada@example.com", "firstname": "Ada", "lastname": "",
                    "properties": {"lifecyclestage": "lead", "hs_lead_score": 7, "x": null}}),
        )
        .unwrap();
        assert_eq!(
            Json::Object(properties),
            json!({"email": "ada@example.com", "firstname": "Ada",
                   "lifecyclestage": "lead", "hs_lead_score": "7"})
        );
        assert!(contact_properties("a@x.io", &json!({"properties": {"email": "b@x.io"}})).is_err());
        assert!(contact_properties("a@x.io", &json!({"properties": {"tags": ["a"]}})).is_err());
    }

    #[test]
    fn contacts_show_their_id_beside_their_properties() {
        let object = json!({"id": "101", "properties": {"email": "ada@example.com",
            "firstname": null, "hs_object_id": "101", "createdate": "2026-01-01T00:00:00Z"},
            "archived": false});
        assert_eq!(
            contact_json(&object),
            json!({"id": "101", "email": "ada@example.com", "createdate": "2026-01-01T00:00:00Z"})
        );
    }

    #[test]
    fn missing_scopes_are_read_from_the_error_context() {
        let body = json!({"status": "error", "category": "MISSING_SCOPES", "errors": [
            {"context": {"requiredGranularScopes": ["crm.objects.contacts.write"]}},
            {"context": {"requiredGranularScopes": ["crm.objects.contacts.write", "x.read"]}}
        ]});
        assert_eq!(required_scopes(&body), "crm.objects.contacts.write, x.read");
        assert_eq!(required_scopes(&json!({})), "");
    }
}
