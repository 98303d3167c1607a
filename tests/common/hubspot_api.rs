//! A local HubSpot CRM v3 API that keeps state like the real one: contacts with ids and
//! properties, search with `filterGroups`, tasks with their associations to contacts (default
//! type 204), deletes, the 401 / 403 / 409 / 429 answers in HubSpot's shape, a switch that
//! delays every answer (for timeouts) or fails it, and a log of every request so tests can
//! prove that nothing was sent.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value as Json, json};

use super::api_server::{Answer, ApiServer, Call};

/// The private app token the fake accepts.
pub const HUBSPOT_TOKEN: &str = "pat-na1-11111111-2222-3333-4444-555555555555";

/// HubSpot's default association type from a task to a contact.
pub const TASK_TO_CONTACT: u64 = 204;

#[derive(Debug, Clone, PartialEq)]
pub struct Contact {
    pub id: String,
    pub properties: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    pub id: String,
    pub properties: BTreeMap<String, String>,
    /// (contact id, association type id).
    pub associations: Vec<(String, u64)>,
}

/// One request as received: method, path and JSON body.
#[derive(Debug, Clone)]
pub struct Logged {
    pub method: String,
    pub path: String,
    pub body: Json,
}

impl Logged {
    /// A search or a read: something that changes nothing.
    pub fn is_read(&self) -> bool {
        self.method == "GET" || self.path.ends_with("/search")
    }
}

#[derive(Debug)]
pub struct HubspotState {
    pub token: String,
    pub scopes: Vec<String>,
    pub contacts: Vec<Contact>,
    pub tasks: Vec<Task>,
    pub requests: Vec<Logged>,
    /// Every answer waits this long first.
    pub delay: Option<Duration>,
    /// Every answer is HTTP 429.
    pub rate_limited: bool,
    /// Every answer is HTTP 500.
    pub failing: bool,
    /// A contact (email, first name) someone else creates right after the next search is
    /// answered: the race between Enact's search and its create.
    pub created_after_next_search: Option<(String, String)>,
    next_id: u64,
}

pub struct HubspotApi {
    server: ApiServer,
    pub state: Arc<Mutex<HubspotState>>,
}

impl HubspotApi {
    /// An empty account; the token has the contacts read and write scopes (which also cover
    /// tasks).
    pub fn start() -> HubspotApi {
        let state = Arc::new(Mutex::new(HubspotState {
            token: HUBSPOT_TOKEN.to_string(),
            scopes: vec![
                "crm.objects.contacts.read".to_string(),
                "crm.objects.contacts.write".to_string(),
            ],
            contacts: Vec::new(),
            tasks: Vec::new(),
            requests: Vec::new(),
            delay: None,
            rate_limited: false,
            failing: false,
            created_after_next_search: None,
            next_id: 100,
        }));
        let shared = Arc::clone(&state);
        let server = ApiServer::start(move |call| {
            let mut state = shared.lock().unwrap();
            let mut answer = handle(&mut state, call);
            answer.delay = state.delay;
            answer
        });
        HubspotApi { server, state }
    }

    pub fn url(&self) -> String {
        self.server.address.clone()
    }

    /// Adds a contact as if someone had created it in HubSpot; returns its id.
    pub fn add_contact(&self, email: &str, firstname: &str) -> String {
        let mut state = self.state.lock().unwrap();
        let id = state.next_id();
        let mut properties = BTreeMap::new();
        properties.insert("email".to_string(), email.to_string());
        properties.insert("firstname".to_string(), firstname.to_string());
        state.contacts.push(Contact {
            id: id.clone(),
            properties,
        });
        id
    }

    pub fn contacts(&self) -> Vec<Contact> {
        self.state.lock().unwrap().contacts.clone()
    }

    pub fn tasks(&self) -> Vec<Task> {
        self.state.lock().unwrap().tasks.clone()
    }

    pub fn requests(&self) -> Vec<Logged> {
        self.state.lock().unwrap().requests.clone()
    }

    /// The requests that could have changed something (not searches, not reads).
    pub fn writes(&self) -> Vec<Logged> {
        self.requests()
            .into_iter()
            .filter(|r| !r.is_read())
            .collect()
    }

    pub fn set_delay(&self, delay: Option<Duration>) {
        self.state.lock().unwrap().delay = delay;
    }

    pub fn set_rate_limited(&self, on: bool) {
        self.state.lock().unwrap().rate_limited = on;
    }

    pub fn set_failing(&self, on: bool) {
        self.state.lock().unwrap().failing = on;
    }

    /// Someone else creates this contact right after the next search is answered.
    pub fn create_after_next_search(&self, email: &str, firstname: &str) {
        self.state.lock().unwrap().created_after_next_search =
            Some((email.to_string(), firstname.to_string()));
    }

    pub fn set_scopes(&self, scopes: &[&str]) {
        self.state.lock().unwrap().scopes = scopes.iter().map(|s| s.to_string()).collect();
    }
}

impl HubspotState {
    fn next_id(&mut self) -> String {
        self.next_id += 1;
        self.next_id.to_string()
    }
}

fn error(status: u16, category: &str, message: &str) -> Answer {
    Answer::json(
        status,
        json!({"status": "error", "message": message, "correlationId":
               "aeb5f871-7f07-4993-9211-075dc63e7cbf", "category": category}),
    )
}

fn not_found(id: &str) -> Answer {
    error(
        404,
        "OBJECT_NOT_FOUND",
        &format!("Object not found.  objectId are usually numeric. ({id})"),
    )
}

fn contact_json(contact: &Contact, wanted: Option<&[Json]>) -> Json {
    let mut properties = serde_json::Map::new();
    properties.insert("hs_object_id".into(), json!(contact.id));
    properties.insert("createdate".into(), json!("2026-01-05T10:00:00.000Z"));
    match wanted {
        Some(names) => {
            for name in names.iter().filter_map(Json::as_str) {
                properties.insert(
                    name.into(),
                    contact
                        .properties
                        .get(name)
                        .map_or(Json::Null, |v| json!(v)),
                );
            }
        }
        None => {
            for (name, value) in &contact.properties {
                properties.insert(name.clone(), json!(value));
            }
        }
    }
    json!({"id": contact.id, "properties": properties, "archived": false,
           "createdAt": "2026-01-05T10:00:00.000Z", "updatedAt": "2026-01-05T10:00:00.000Z"})
}

fn task_json(task: &Task) -> Json {
    json!({"id": task.id, "properties": task.properties, "archived": false,
           "associations": {"contacts": {"results": task.associations.iter()
               .map(|(id, _)| json!({"id": id, "type": "task_to_contact"})).collect::<Vec<_>>()}}})
}

/// Whether a contact matches every filter of a group (EQ only; email case-insensitively).
fn matches(contact: &Contact, filters: &[Json]) -> bool {
    filters.iter().all(|filter| {
        let name = filter
            .get("propertyName")
            .and_then(Json::as_str)
            .unwrap_or("");
        let value = filter.get("value").and_then(Json::as_str).unwrap_or("");
        let operator = filter.get("operator").and_then(Json::as_str).unwrap_or("");
        let have = contact
            .properties
            .get(name)
            .map(String::as_str)
            .unwrap_or("");
        operator == "EQ"
            && if name == "email" {
                have.eq_ignore_ascii_case(value)
            } else {
                have == value
            }
    })
}

fn handle(state: &mut HubspotState, call: &Call) -> Answer {
    let body = call.json().unwrap_or(Json::Null);
    state.requests.push(Logged {
        method: call.method.clone(),
        path: call.path.clone(),
        body: body.clone(),
    });
    if state.failing {
        return error(500, "INTERNAL_ERROR", "internal error");
    }
    if state.rate_limited {
        return Answer::json(
            429,
            json!({"status": "error", "message": "You have reached your secondly limit.",
                   "errorType": "RATE_LIMIT", "correlationId": "c0ffee",
                   "policyName": "SECONDLY"}),
        );
    }
    if call.bearer() != Some(state.token.as_str()) {
        return error(
            401,
            "INVALID_AUTHENTICATION",
            "Authentication credentials not found. This API supports OAuth 2.0 authentication \
             and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
        );
    }
    let writes = call.method != "GET" && !call.path.ends_with("/search");
    let scope = if writes {
        "crm.objects.contacts.write"
    } else {
        "crm.objects.contacts.read"
    };
    if !state.scopes.iter().any(|s| s == scope) {
        return Answer::json(
            403,
            json!({"status": "error",
                   "message": "This app hasn't been granted all required scopes to make this call. Read more about required scopes here: https://developers.hubspot.com/scopes.",
                   "correlationId": "c0ffee",
                   "errors": [{"message": "One or more of the following scopes are required.",
                               "context": {"requiredGranularScopes": [scope]}}],
                   "links": {"scopes": "https://developers.hubspot.com/scopes"},
                   "category": "MISSING_SCOPES"}),
        );
    }
    let segments: Vec<&str> = call
        .path
        .trim_start_matches("/crm/v3/objects/")
        .split('/')
        .collect();
    if !call.path.starts_with("/crm/v3/objects/") {
        return error(404, "OBJECT_NOT_FOUND", "unknown path");
    }
    match (call.method.as_str(), segments.as_slice()) {
        ("POST", ["contacts", "search"]) => {
            let Some(groups) = body.get("filterGroups").and_then(Json::as_array) else {
                return error(400, "VALIDATION_ERROR", "filterGroups is required");
            };
            let wanted = body
                .get("properties")
                .and_then(Json::as_array)
                .map(Vec::as_slice);
            let results: Vec<Json> = state
                .contacts
                .iter()
                .filter(|c| {
                    groups.iter().any(|g| {
                        matches(
                            c,
                            g.get("filters")
                                .and_then(Json::as_array)
                                .map(Vec::as_slice)
                                .unwrap_or(&[]),
                        )
                    })
                })
                .map(|c| contact_json(c, wanted))
                .collect();
            if let Some((email, firstname)) = state.created_after_next_search.take() {
                let id = state.next_id();
                let properties = BTreeMap::from([
                    ("email".to_string(), email),
                    ("firstname".to_string(), firstname),
                ]);
                state.contacts.push(Contact { id, properties });
            }
            Answer::json(200, json!({"total": results.len(), "results": results}))
        }
        ("POST", ["contacts"]) => {
            let Some(properties) = body.get("properties").and_then(Json::as_object) else {
                return error(400, "VALIDATION_ERROR", "properties is required");
            };
            let email = properties.get("email").and_then(Json::as_str).unwrap_or("");
            if let Some(existing) = state.contacts.iter().find(|c| {
                !email.is_empty()
                    && c.properties
                        .get("email")
                        .is_some_and(|e| e.eq_ignore_ascii_case(email))
            }) {
                return error(
                    409,
                    "CONFLICT",
                    &format!("Contact already exists. Existing ID: {}", existing.id),
                );
            }
            let id = state.next_id();
            let contact = Contact {
                id: id.clone(),
                properties: properties
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                    .collect(),
            };
            let answer = contact_json(&contact, None);
            state.contacts.push(contact);
            Answer::json(201, answer)
        }
        ("GET", ["contacts", id]) => match state.contacts.iter().find(|c| c.id == *id) {
            Some(contact) => Answer::json(200, contact_json(contact, None)),
            None => not_found(id),
        },
        ("DELETE", ["contacts", id]) => {
            let before = state.contacts.len();
            state.contacts.retain(|c| c.id != *id);
            if state.contacts.len() == before {
                return not_found(id);
            }
            for task in &mut state.tasks {
                task.associations.retain(|(contact, _)| contact != id);
            }
            Answer::empty(204)
        }
        ("POST", ["tasks"]) => {
            let Some(properties) = body.get("properties").and_then(Json::as_object) else {
                return error(400, "VALIDATION_ERROR", "properties is required");
            };
            if !properties.contains_key("hs_timestamp") {
                return error(
                    400,
                    "VALIDATION_ERROR",
                    "Property values were not valid: hs_timestamp is required",
                );
            }
            let mut associations = Vec::new();
            for association in body
                .get("associations")
                .and_then(Json::as_array)
                .map(Vec::as_slice)
                .unwrap_or(&[])
            {
                let to = association
                    .pointer("/to/id")
                    .and_then(|v| {
                        v.as_str()
                            .map(str::to_string)
                            .or(v.as_u64().map(|n| n.to_string()))
                    })
                    .unwrap_or_default();
                let kind = association
                    .pointer("/types/0/associationTypeId")
                    .and_then(Json::as_u64);
                let category = association
                    .pointer("/types/0/associationCategory")
                    .and_then(Json::as_str);
                if !state.contacts.iter().any(|c| c.id == to)
                    || kind != Some(TASK_TO_CONTACT)
                    || category != Some("HUBSPOT_DEFINED")
                {
                    return error(
                        400,
                        "VALIDATION_ERROR",
                        &format!("One or more associations are invalid ({to})"),
                    );
                }
                associations.push((to, TASK_TO_CONTACT));
            }
            let id = state.next_id();
            let task = Task {
                id,
                properties: properties
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                    .collect(),
                associations,
            };
            let answer = task_json(&task);
            state.tasks.push(task);
            Answer::json(201, answer)
        }
        ("GET", ["tasks", id]) => match state.tasks.iter().find(|t| t.id == *id) {
            Some(task) => Answer::json(200, task_json(task)),
            None => not_found(id),
        },
        ("DELETE", ["tasks", id]) => {
            let before = state.tasks.len();
            state.tasks.retain(|t| t.id != *id);
            if state.tasks.len() == before {
                return not_found(id);
            }
            Answer::empty(204)
        }
        _ => error(404, "OBJECT_NOT_FOUND", "unknown path"),
    }
}
