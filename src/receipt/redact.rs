//! Keeps secrets out of receipts (SPEC §7): the value under any key that names a secret is
//! replaced with `"[REDACTED]"`, at any depth.
//!
//! A key is split into lowercase words at `_`, `-`, `.`, spaces and other punctuation, at
//! camelCase humps (`apiKey`, `APIKey`) and between letters and digits (`oauth2Token`). It
//! looks secret when a word is token, password(s), passwd, secret(s), authorization,
//! cookie(s), credential(s), apikey, accesskey or privatekey, or when two adjacent words are
//! api+key, private+key, access+key or client+secret. Choices:
//! - `tokens` (plural) is not a secret word: agent payloads count LLM tokens (`max_tokens`,
//!   `tokens_used`). A non-number under it (`access_tokens: ["…"]`) is still redacted.
//! - `null`, `true` and `false` are kept everywhere: they carry no secret, and `has_token:
//!   true` is useful evidence.
//! - `author`, `auth_method`, `pwd` (the shell's working directory), `keyboard` and
//!   `secretary` are not secret: whole words are compared, not substrings.
//! - Only keys are inspected; a secret pasted into free text is not found.

use serde_json::Value as Json;

/// What a redacted value is replaced with.
pub const REDACTED: &str = "[REDACTED]";

const SECRET_WORDS: &[&str] = &[
    "token",
    "password",
    "passwords",
    "passwd",
    "secret",
    "secrets",
    "authorization",
    "cookie",
    "cookies",
    "credential",
    "credentials",
    "apikey",
    "accesskey",
    "privatekey",
];

const SECRET_PAIRS: &[(&str, &str)] = &[
    ("api", "key"),
    ("private", "key"),
    ("access", "key"),
    ("client", "secret"),
];

/// Replaces every secret-looking value in `value` and returns the paths replaced, like
/// `payload.db.password` or `actions_taken[0].args.headers.Authorization`.
pub fn redact(value: &mut Json) -> Vec<String> {
    let mut paths = Vec::new();
    let mut path = String::new();
    walk(value, &mut path, &mut paths);
    paths
}

fn walk(value: &mut Json, path: &mut String, paths: &mut Vec<String>) {
    match value {
        Json::Object(map) => {
            for (key, child) in map.iter_mut() {
                let len = path.len();
                push_key(path, key);
                match key_kind(key) {
                    KeyKind::Secret if holds_something(child, false) => {
                        *child = Json::String(REDACTED.to_string());
                        paths.push(path.clone());
                    }
                    KeyKind::TokenCount if holds_something(child, true) => {
                        *child = Json::String(REDACTED.to_string());
                        paths.push(path.clone());
                    }
                    _ => walk(child, path, paths),
                }
                path.truncate(len);
            }
        }
        Json::Array(items) => {
            for (index, child) in items.iter_mut().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{index}]"));
                walk(child, path, paths);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// Whether a value could carry a secret: not null or a boolean (and, under a `tokens` key,
/// not a number either).
fn holds_something(value: &Json, numbers_are_counts: bool) -> bool {
    match value {
        Json::Null | Json::Bool(_) => false,
        Json::Number(_) => !numbers_are_counts,
        _ => true,
    }
}

fn push_key(path: &mut String, key: &str) {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if plain {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
    } else {
        path.push('[');
        path.push_str(&Json::String(key.to_string()).to_string());
        path.push(']');
    }
}

/// Whether a key (or an environment variable's name) looks like it holds a secret.
pub fn key_is_secret(key: &str) -> bool {
    key_kind(key) != KeyKind::Plain
}

#[derive(Debug, PartialEq, Eq)]
enum KeyKind {
    Plain,
    Secret,
    /// Has the word `tokens`: a count when its value is a number.
    TokenCount,
}

fn key_kind(key: &str) -> KeyKind {
    let words = words(key);
    let secret_word = words
        .iter()
        .any(|word| SECRET_WORDS.contains(&word.as_str()));
    let secret_pair = words.windows(2).any(|pair| match pair {
        [first, second] => SECRET_PAIRS.contains(&(first.as_str(), second.as_str())),
        _ => false,
    });
    if secret_word || secret_pair {
        KeyKind::Secret
    } else if words.iter().any(|word| word == "tokens") {
        KeyKind::TokenCount
    } else {
        KeyKind::Plain
    }
}

/// Lowercase words of a key: split at non-alphanumerics, lower→upper humps, the last capital
/// of an acronym before a lowercase letter (`APIKey` → api, key), and letter/digit changes.
fn words(key: &str) -> Vec<String> {
    let chars: Vec<char> = key.chars().collect();
    let mut words = Vec::new();
    let mut current = String::new();
    for (index, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            flush(&mut current, &mut words);
            continue;
        }
        if let Some(&previous) = index.checked_sub(1).and_then(|i| chars.get(i)) {
            let next = chars.get(index + 1).copied();
            let hump = previous.is_lowercase() && c.is_uppercase();
            let acronym_end =
                previous.is_uppercase() && c.is_uppercase() && next.is_some_and(char::is_lowercase);
            let digit_change =
                previous.is_ascii_digit() != c.is_ascii_digit() && previous.is_alphanumeric();
            if hump || acronym_end || digit_change {
                flush(&mut current, &mut words);
            }
        }
        current.extend(c.to_lowercase());
    }
    flush(&mut current, &mut words);
    words
}

fn flush(current: &mut String, words: &mut Vec<String>) {
    if !current.is_empty() {
        words.push(std::mem::take(current));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn is_secret(key: &str) -> bool {
        let mut value = json!({ key: "x" });
        !redact(&mut value).is_empty()
    }

    #[test]
    fn splits_keys_into_words() {
        assert_eq!(words("APIKey"), ["api", "key"]);
        assert_eq!(words("x-api-key"), ["x", "api", "key"]);
        assert_eq!(words("clientSecret"), ["client", "secret"]);
        assert_eq!(words("db.password"), ["db", "password"]);
        assert_eq!(words("oauth2Token"), ["oauth", "2", "token"]);
        assert_eq!(
            words("AWS_SECRET_ACCESS_KEY"),
            ["aws", "secret", "access", "key"]
        );
    }

    #[test]
    fn secret_keys_are_redacted() {
        for key in [
            "token",
            "access_token",
            "refreshToken",
            "password",
            "DB_PASSWORD",
            "passwd",
            "secret",
            "client_secret",
            "Authorization",
            "cookie",
            "Set-Cookie",
            "credentials",
            "api_key",
            "apiKey",
            "X-API-Key",
            "apikey",
            "private_key",
            "privateKey",
            "aws_access_key_id",
            "accesskey",
            "github.token",
            "secrets",
        ] {
            assert!(is_secret(key), "{key} should be redacted");
        }
    }

    #[test]
    fn ordinary_keys_are_kept() {
        for key in [
            "author",
            "auth_method",
            "keyboard",
            "monkey",
            "key",
            "primary_key",
            "secretary",
            "tokenizer",
            "pwd",
            "passage",
            "api_version",
            "description",
        ] {
            assert!(!is_secret(key), "{key} should be kept");
        }
    }

    #[test]
    fn token_counts_are_kept_but_token_lists_are_not() {
        let mut value = json!({
            "tokens_used": 1200,
            "max_tokens": 4096,
            "access_tokens": ["ghp_abc"],
        });
        let paths = redact(&mut value);
        assert_eq!(paths, ["access_tokens"]);
        assert_eq!(value["tokens_used"], 1200);
        assert_eq!(value["access_tokens"], REDACTED);
    }

    #[test]
    fn redacts_recursively_and_reports_paths() {
        let mut value = json!({
            "payload": {
                "db": { "password": "hunter2", "host": "db.local" },
                "steps": [{ "headers": { "Authorization": "Bearer x", "Accept": "*/*" } }],
                "weird key": { "token": { "nested": "whole subtree goes" } },
                "has_token": true,
                "password": null,
            }
        });
        let paths = redact(&mut value);
        assert_eq!(
            paths,
            [
                "payload.db.password",
                "payload.steps[0].headers.Authorization",
                r#"payload["weird key"].token"#,
            ]
        );
        assert_eq!(value["payload"]["db"]["password"], REDACTED);
        assert_eq!(value["payload"]["db"]["host"], "db.local");
        assert_eq!(value["payload"]["steps"][0]["headers"]["Accept"], "*/*");
        assert_eq!(value["payload"]["weird key"]["token"], REDACTED);
        assert_eq!(value["payload"]["has_token"], true);
        assert_eq!(value["payload"]["password"], Json::Null);
    }

    #[test]
    fn numeric_passwords_are_redacted() {
        let mut value = json!({ "password": 12345678 });
        assert_eq!(redact(&mut value), ["password"]);
        assert_eq!(value["password"], REDACTED);
    }
}
