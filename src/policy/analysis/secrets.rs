//! Secret scanner: finds credentials (API keys, access tokens, private key blocks) in text so
//! policies can block commits, file writes and payloads that would leak them.

use std::sync::{LazyLock, OnceLock};

use regex::{Regex, RegexSet};

/// One credential found in a text. `start..end` is the byte span of the secret itself (not of
/// surrounding context such as `API_KEY=`); `redacted` is safe to log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretMatch {
    pub kind: &'static str,
    pub start: usize,
    pub end: usize,
    /// First 4 characters, `…`, then the secret's length in characters: never the whole secret.
    pub redacted: String,
}

/// Wraps a token body in identifier boundaries. The regex crate has no look-around, so the
/// boundaries are consuming: the left one is start-of-text, a character that cannot continue
/// an identifier (so `task-list…` does not yield `sk-…`), or an escape that ends in a letter or
/// digit yet separates (`\n`, `\t`, `\r` inside a JSON string, `%3D` in a URL-encoded form);
/// the right one is end-of-text or a character that cannot continue the token (so an over-long
/// run is not reported as a shorter key). The key itself is the `key` capture group; `find`
/// resumes each search at the end of the previous key, so a boundary character shared by two
/// adjacent keys is not lost.
macro_rules! token {
    ($body:literal) => {
        concat!(
            r"(?:^|[^0-9A-Za-z_]|\\[nrt]|%[0-9A-Fa-f]{2})(?P<key>",
            $body,
            r")(?:$|[^0-9A-Za-z_-])"
        )
    };
}

const PRIVATE_KEY: &str = "private_key";

/// How far past a private key's header `find` looks for its END line. A 4096-bit RSA key is
/// about 3.3 KB and a PGP block with subkeys under 10 KB. The bound keeps `find` linear: with
/// the END search inside the regex, every header lacking an END line rescanned the rest of the
/// text (200 KB of headers took a second).
const PEM_END_WINDOW: usize = 16 * 1024;

/// Every detector, as (kind, pattern). Patterns use a `key` group for the secret's span when they
/// need context around it; otherwise the whole match is the secret.
const PATTERNS: &[(&str, &str)] = &[
    // OpenAI: project / service-account / admin keys are `sk-<scope>-` + a long base64url body;
    // legacy user keys are `sk-` + 48 base62 characters. An unscoped body must be pure base62 so
    // kebab-case words (`sk-learn`, `sk-some-long-option-name`) never qualify.
    (
        "openai_api_key",
        token!(r"sk-(?:(?:proj|svcacct|admin|None)-[A-Za-z0-9_-]{40,}|[A-Za-z0-9]{32,})"),
    ),
    // Anthropic: `sk-ant-api03-…`, `sk-ant-admin01-…`. Distinct from OpenAI's shapes above, so
    // the two never report the same span.
    (
        "anthropic_api_key",
        token!(r"sk-ant-[a-z]+[0-9]{2}-[A-Za-z0-9_-]{32,}"),
    ),
    // GitHub classic tokens: personal (ghp), OAuth (gho), user-to-server (ghu), server-to-server
    // (ghs), refresh (ghr): 36 base62 characters; longer bodies are accepted as formats grow.
    ("github_token", token!(r"gh[pousr]_[A-Za-z0-9]{36,}")),
    // GitHub fine-grained PATs: `github_pat_` + 22 chars + `_` + 59 chars.
    (
        "github_fine_grained_pat",
        token!(r"github_pat_[A-Za-z0-9]{22,}_[A-Za-z0-9]{50,}"),
    ),
    ("gitlab_token", token!(r"glpat-[A-Za-z0-9_-]{20,}")),
    // Slack: bot/user/legacy tokens (`xoxb`/`xoxp`/`xoxo`/`xoxs`) carry two long numeric ids
    // (`xoxb-<team>-<bot>-<secret>`), which keeps slugs like `xoxb-2024-release-notes` out;
    // app and refresh tokens (`xoxa`/`xoxr`) have an optional version digit and a long base62
    // body; app-level tokens are `xapp-<v>-<app id>-<number>-<hex>`.
    (
        "slack_token",
        token!(
            r"xox(?:[bpos]-[0-9]{6,}-[0-9]{6,}[0-9A-Za-z-]*|[ar]-(?:[0-9]-)?[0-9A-Za-z]{16,})|xapp-[0-9]-[A-Z0-9]{6,}-[0-9]{6,}-[a-f0-9]{32,}"
        ),
    ),
    (
        "slack_webhook_url",
        token!(r"https://hooks\.slack\.com/services/T[A-Z0-9]{6,}/B[A-Z0-9]{6,}/[A-Za-z0-9]{20,}"),
    ),
    // AWS access key ids: long-term (AKIA) and temporary STS (ASIA); the 16-char tail is
    // upper-case base32, so `AKIA` in a sentence or a lower-case tail does not match.
    ("aws_access_key_id", token!(r"(?:AKIA|ASIA)[A-Z2-7]{16}")),
    // AWS secret keys are 40 base64 characters with no prefix, far too generic on their own, so
    // only an assignment to a recognisable name counts (env var, INI, YAML, JSON, camelCase).
    (
        "aws_secret_access_key",
        r#"(?i:aws[_.-]?secret[_.-]?(?:access[_.-]?)?key)["']?\s*(?:=>|[:=])\s*["']?(?P<key>[A-Za-z0-9/+]{40})(?:$|[^A-Za-z0-9/+=])"#,
    ),
    ("google_api_key", token!(r"AIza[0-9A-Za-z_-]{35}")),
    ("google_oauth_token", token!(r"ya29\.[0-9A-Za-z_-]{20,}")),
    // Stripe secret and restricted keys. Publishable keys (`pk_`) are public by design and are
    // not reported. Test-mode keys are reported under their own kind: they cannot move money but
    // still read and write the account's test data, and a policy can filter them by kind.
    (
        "stripe_secret_key",
        token!(r"(?:sk|rk)_live_[0-9A-Za-z]{24,}"),
    ),
    (
        "stripe_test_key",
        token!(r"(?:sk|rk)_test_[0-9A-Za-z]{24,}"),
    ),
    ("huggingface_token", token!(r"hf_[A-Za-z]{34}")),
    ("npm_token", token!(r"npm_[A-Za-z0-9]{36}")),
    // PEM / OpenSSH / PGP private keys (`-----BEGIN [RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP ]
    // PRIVATE KEY[ BLOCK]-----`); `PUBLIC KEY` and certificates never match. A bare header is
    // not enough (PEM parsers contain it as a constant): a base64 body line must follow within
    // 200 ASCII characters (room for `Proc-Type`/`DEK-Info`/`Version` headers, diff `+` prefixes
    // or JSON `\n` escapes). `find` then extends the span to the END line (see `pem_end`).
    (
        PRIVATE_KEY,
        r"-----BEGIN (?:[A-Z0-9]+ ){0,2}PRIVATE KEY(?: BLOCK)?-----[\x00-\x7F]{0,200}?[A-Za-z0-9+/]{40}",
    ),
];

/// The compiled table, in table order. A pattern that fails to compile is a programming error;
/// it is skipped rather than panicking, and `tests::every_pattern_compiles` catches it.
#[cfg(test)]
fn patterns() -> Vec<(&'static str, Regex)> {
    PATTERNS
        .iter()
        .filter_map(|&(kind, pattern)| Regex::new(pattern).ok().map(|re| (kind, re)))
        .collect()
}

/// Each pattern compiled on first need only: a clean text pays for the combined set alone.
static COMPILED: LazyLock<Vec<OnceLock<Option<Regex>>>> =
    LazyLock::new(|| PATTERNS.iter().map(|_| OnceLock::new()).collect());

fn pattern(index: usize) -> Option<(&'static str, &'static Regex)> {
    let (kind, text) = PATTERNS.get(index)?;
    let regex = COMPILED
        .get(index)?
        .get_or_init(|| Regex::new(text).ok())
        .as_ref()?;
    Some((kind, regex))
}

/// All patterns in one automaton, so the common "no secret" case is a single pass. Indices
/// match `PATTERNS`. `None` only if the set exceeds regex size limits, in which case `find`
/// falls back to running every pattern.
static SET: LazyLock<Option<RegexSet>> =
    LazyLock::new(|| RegexSet::new(PATTERNS.iter().map(|(_, p)| *p)).ok());

/// A literal found in every match of some detector in `PATTERNS` (case matters, except for the
/// AWS secret-key assignment, matched without case): a text with none of them holds no secret,
/// and `find` and `contains` then return at once, without building the set's automaton (several
/// million instructions, most of a process that judges one clean text). Every detector's
/// positive tests below go through `find`, so one whose matches lack these marks fails them.
const MARKS: &[&str] = &[
    "sk-",
    "gh",
    "github_pat_",
    "glpat-",
    "xox",
    "xapp-",
    "hooks.slack.com",
    "AKIA",
    "ASIA",
    "AIza",
    "ya29.",
    "sk_",
    "rk_",
    "hf_",
    "npm_",
    "-----BEGIN ",
];

fn may_hold_a_secret(text: &str) -> bool {
    MARKS.iter().any(|mark| text.contains(mark))
        || text.len() >= 40
            && text
                .as_bytes()
                .windows(3)
                .any(|w| w.eq_ignore_ascii_case(b"aws"))
}

/// Every secret in `text`, ordered by position. Where two detectors report overlapping spans
/// only the first-starting (then longest) one is kept.
#[must_use]
pub fn find(text: &str) -> Vec<SecretMatch> {
    if !may_hold_a_secret(text) {
        return Vec::new();
    }
    // `is_match` first: it is the cheapest full pass and settles the common clean case;
    // `matches` (which patterns hit) is only worth its extra cost once something did.
    let candidates: Vec<usize> = match &*SET {
        Some(set) if !set.is_match(text) => return Vec::new(),
        Some(set) => set.matches(text).into_iter().collect(),
        None => (0..PATTERNS.len()).collect(),
    };
    let mut found = Vec::new();
    for (kind, re) in candidates.iter().filter_map(|&i| pattern(i)) {
        let mut pos = 0;
        while pos <= text.len() {
            let Some(caps) = re.captures_at(text, pos) else {
                break;
            };
            let Some(key) = caps.name("key").or_else(|| caps.get(0)) else {
                break;
            };
            let end = if kind == PRIVATE_KEY {
                pem_end(text, key.end())
            } else {
                key.end()
            };
            found.push(SecretMatch {
                kind,
                start: key.start(),
                end,
                redacted: redact(text.get(key.start()..end).unwrap_or_default()),
            });
            // Resume right after the key, not after the consumed right boundary, so that
            // boundary can serve as the left boundary of an adjacent key (`k1,k2`).
            if key.end() <= pos {
                break;
            }
            pos = key.end();
        }
    }
    found.sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)));
    let mut kept: Vec<SecretMatch> = Vec::with_capacity(found.len());
    for m in found {
        if kept.last().is_none_or(|last| m.start >= last.end) {
            kept.push(m);
        }
    }
    kept
}

/// Whether `text` contains any secret. Equivalent to `!find(text).is_empty()`, but stops at the
/// first hit.
#[must_use]
pub fn contains(text: &str) -> bool {
    if !may_hold_a_secret(text) {
        return false;
    }
    match &*SET {
        Some(set) => set.is_match(text),
        None => !find(text).is_empty(),
    }
}

/// End of the private key block whose body reaches `from`: just past its `-----END …-----`
/// line if one starts within `PEM_END_WINDOW` bytes, else `from` itself.
fn pem_end(text: &str, from: usize) -> usize {
    let mut limit = from.saturating_add(PEM_END_WINDOW).min(text.len());
    while !text.is_char_boundary(limit) {
        limit -= 1;
    }
    let Some(at) = text.get(from..limit).and_then(|w| w.find("-----END ")) else {
        return from;
    };
    // The label (`RSA PRIVATE KEY`, `PGP PRIVATE KEY BLOCK`) then the closing dashes.
    let label_start = from + at + "-----END ".len();
    let label_len = text
        .as_bytes()
        .get(label_start..)
        .unwrap_or_default()
        .iter()
        .take(64)
        .take_while(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || **b == b' ')
        .count();
    let close = label_start + label_len;
    if text
        .get(close..)
        .is_some_and(|rest| rest.starts_with("-----"))
    {
        close + "-----".len()
    } else {
        from
    }
}

fn redact(secret: &str) -> String {
    let head: String = secret.chars().take(4).collect();
    format!("{head}…{}", secret.chars().count())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic mixed-case base62 filler, so test keys look random without being real.
    fn b62(n: usize) -> String {
        "aB3dE5fG7hJ9kL2mN4pQ6rS8tU0vW1xYz"
            .chars()
            .cycle()
            .take(n)
            .collect()
    }

    /// Upper-case base32 filler (A-Z, 2-7) for AWS key ids.
    fn b32(n: usize) -> String {
        "QZ7XW2MNB4VCR5TY6LKJ3HGF".chars().cycle().take(n).collect()
    }

    fn kinds(text: &str) -> Vec<&'static str> {
        find(text).into_iter().map(|m| m.kind).collect()
    }

    fn assert_one(text: &str, kind: &str, secret: &str) {
        let found = find(text);
        assert_eq!(
            found.len(),
            1,
            "expected one {kind} in {text:?}, got {found:?}"
        );
        let m = &found[0];
        assert_eq!(m.kind, kind, "in {text:?}");
        assert_eq!(&text[m.start..m.end], secret, "span in {text:?}");
        assert!(contains(text));
    }

    #[test]
    fn ordinary_commands_and_prose_skip_the_scanner() {
        for clean in [
            "cargo test --workspace",
            "git push origin agent/fix-42",
            "cat README.md",
        ] {
            assert!(!may_hold_a_secret(clean), "{clean}");
        }
        // Long enough and naming AWS in any case: the assignment detector might apply.
        assert!(may_hold_a_secret(
            "export Aws_Secret_Key=0123456789012345678901234567890123456789"
        ));
    }

    fn assert_none(text: &str) {
        assert!(
            find(text).is_empty(),
            "false positive in {text:?}: {:?}",
            find(text)
        );
        assert!(!contains(text), "contains() disagrees for {text:?}");
    }

    fn pem(label: &str) -> String {
        let body = format!("MIIEow{}\n{}\n{}=", b62(58), b62(64), b62(20));
        format!("-----BEGIN {label}-----\n{body}\n-----END {label}-----")
    }

    #[test]
    fn every_pattern_compiles() {
        assert_eq!(patterns().len(), PATTERNS.len());
        assert!(SET.is_some());
    }

    #[test]
    fn openai() {
        let legacy = format!("sk-{}", b62(48));
        assert_one(&legacy, "openai_api_key", &legacy);
        let project = format!("sk-proj-{}_{}-{}", b62(60), b62(40), b62(54));
        assert_one(
            &format!("OPENAI_API_KEY=\"{project}\""),
            "openai_api_key",
            &project,
        );
        let svc = format!("sk-svcacct-{}", b62(80));
        assert_one(&svc, "openai_api_key", &svc);
    }

    #[test]
    fn openai_near_misses() {
        assert_none("pip install scikit-learn  # aka sk-learn");
        assert_none("see task-list and disk-usage-report-for-the-whole-cluster");
        assert_none(&format!("sk-{}", b62(20)));
        assert_none("sk-proj-settings");
        // Embedded in a longer identifier: not a key boundary.
        assert_none(&format!("mask-{}", b62(48)));
        // A kebab-case body is not a legacy key even when long.
        assert_none("sk-this-is-a-very-long-kebab-case-identifier-name");
    }

    #[test]
    fn anthropic() {
        let key = format!("sk-ant-api03-{}-{}AA", b62(60), b62(30));
        assert_one(&format!("x-api-key: {key}"), "anthropic_api_key", &key);
        assert_none("sk-ant-api03-short");
    }

    #[test]
    fn github() {
        for prefix in ["ghp", "gho", "ghu", "ghs", "ghr"] {
            let key = format!("{prefix}_{}", b62(36));
            assert_one(&format!("token: {key}\n"), "github_token", &key);
        }
        let lower = format!("ghp_{}", "a".repeat(36));
        assert_one(&lower, "github_token", &lower);
        let pat = format!("github_pat_{}_{}", b62(22), b62(59));
        assert_one(
            &format!("GITHUB_TOKEN={pat}"),
            "github_fine_grained_pat",
            &pat,
        );
    }

    #[test]
    fn github_near_misses() {
        assert_none("prefix ghp_ alone");
        assert_none(&format!("ghp_{}", b62(35)));
        assert_none(&format!("GHP_{}", b62(36)));
        assert_none(&format!("ghx_{}", b62(36)));
        assert_none(&format!("xghp_{}", b62(36)));
        assert_none(&format!("github_pat_{}", b62(30)));
    }

    #[test]
    fn gitlab_huggingface_npm() {
        let gl = format!("glpat-{}", b62(20));
        assert_one(&format!("'{gl}'"), "gitlab_token", &gl);
        assert_none("glpat-short");
        let hf = format!("hf_{}", "aBcDeFgHiJ".repeat(4).get(..34).unwrap());
        assert_one(&hf, "huggingface_token", &hf);
        assert_none("from huggingface_hub import hf_hub_download");
        let npm = format!("npm_{}", b62(36));
        assert_one(
            &format!("//registry.npmjs.org/:_authToken={npm}"),
            "npm_token",
            &npm,
        );
        assert_none(&format!("npm_{}", b62(30)));
    }

    #[test]
    fn slack() {
        let bot = format!("xoxb-{}-{}-{}", "123456789012", "1234567890123", b62(24));
        assert_one(&bot, "slack_token", &bot);
        let user = format!(
            "xoxp-{}-{}-{}-{}",
            "1234567890",
            "2345678901",
            "3456789012",
            "0123456789abcdef".repeat(2)
        );
        assert_one(&format!("{{\"slack\": \"{user}\"}}"), "slack_token", &user);
        let hook = format!(
            "https://hooks.slack.com/services/T{}/B{}/{}",
            "0A1B2C3D4",
            "5E6F7G8H9",
            b62(24)
        );
        assert_one(&format!("url = \"{hook}\""), "slack_webhook_url", &hook);
    }

    #[test]
    fn slack_near_misses() {
        assert_none("xoxb");
        assert_none("xoxb-");
        assert_none("xoxb-not-a-token-at-all");
        assert_none("see xoxb-2024-release-notes-for-the-app");
        assert_none(&format!("xoxz-123-{}", b62(24)));
        assert_none("https://hooks.slack.com/services/");
    }

    #[test]
    fn aws() {
        for prefix in ["AKIA", "ASIA"] {
            let id = format!("{prefix}{}", b32(16));
            assert_one(
                &format!("aws_access_key_id = {id}"),
                "aws_access_key_id",
                &id,
            );
        }
        let secret = format!("{}/{}+{}", b62(20), b62(10), b62(8));
        assert_eq!(secret.len(), 40);
        for line in [
            format!("aws_secret_access_key = {secret}"),
            format!("AWS_SECRET_ACCESS_KEY=\"{secret}\""),
            format!("{{\"awsSecretAccessKey\": \"{secret}\"}}"),
            format!("+export AWS_SECRET_KEY='{secret}'"),
        ] {
            assert_one(&line, "aws_secret_access_key", &secret);
        }
    }

    #[test]
    fn aws_near_misses() {
        assert_none("The AKIA prefix marks long-term AWS access key ids.");
        assert_none(&format!("AKIA{}", b32(15)));
        assert_none(&format!("AKIA{}", b32(16).to_lowercase()));
        assert_none(&format!("akia{}", b32(16)));
        assert_none(&format!("XAKIA{}", b32(16)));
        assert_none(&format!("AKIA{}", b32(20)));
        // A 40-char base64 blob without the assignment context is not reported.
        assert_none(&format!("checksum: {}/{}+{}", b62(20), b62(10), b62(8)));
        assert_none("aws_secret_access_key = os.environ['AWS_SECRET']");
    }

    #[test]
    fn google() {
        let key = format!("AIza{}-{}", b62(30), b62(4));
        assert_one(
            &format!("https://maps.googleapis.com/api?key={key}&v=3"),
            "google_api_key",
            &key,
        );
        let oauth = format!("ya29.{}", b62(120));
        assert_one(
            &format!("Authorization: Bearer {oauth}"),
            "google_oauth_token",
            &oauth,
        );
        assert_none(&format!("AIza{}", b62(30)));
        assert_none(&format!("aiza{}", b62(35)));
        assert_none("ya29.short");
    }

    #[test]
    fn stripe() {
        let live = format!("sk_live_{}", b62(24));
        assert_one(
            &format!("stripe.api_key = '{live}'"),
            "stripe_secret_key",
            &live,
        );
        let restricted = format!("rk_live_{}", b62(99));
        assert_one(&restricted, "stripe_secret_key", &restricted);
        let test = format!("sk_test_{}", b62(24));
        assert_one(&test, "stripe_test_key", &test);
        assert_none(&format!("pk_live_{}", b62(24)));
        assert_none("sk_live_short");
        assert_none(&format!("SK_LIVE_{}", b62(24)));
    }

    #[test]
    fn private_keys() {
        for label in [
            "RSA PRIVATE KEY",
            "OPENSSH PRIVATE KEY",
            "EC PRIVATE KEY",
            "DSA PRIVATE KEY",
            "ENCRYPTED PRIVATE KEY",
            "PRIVATE KEY",
            "PGP PRIVATE KEY BLOCK",
        ] {
            let block = pem(label);
            assert_one(&format!("key:\n{block}\n"), "private_key", &block);
        }
    }

    #[test]
    fn private_key_in_diff_and_json() {
        let block = pem("RSA PRIVATE KEY");
        let diff: String = block.lines().map(|l| format!("+{l}\n")).collect();
        let json = format!("{{\"key\": \"{}\"}}", block.replace('\n', "\\n"));
        for text in [format!("diff --git a/id_rsa b/id_rsa\n{diff}"), json] {
            let found = find(&text);
            assert_eq!(kinds(&text), ["private_key"], "in {text:?}");
            // The span covers the whole block, END line included.
            let span = &text[found[0].start..found[0].end];
            assert!(span.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
            assert!(span.ends_with("-----END RSA PRIVATE KEY-----"), "{span:?}");
        }
        // Legacy encrypted PEM with headers before the body.
        let legacy = format!(
            "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,{}\n\n{}\n",
            "0123456789ABCDEF0123456789ABCDEF",
            b62(64)
        );
        assert_eq!(kinds(&legacy), ["private_key"]);
    }

    #[test]
    fn private_key_without_end_line() {
        let head = format!("-----BEGIN EC PRIVATE KEY-----\n{}", b62(40));
        let text = format!("{head}{}\n(truncated)", b62(20));
        assert_one(&text, "private_key", &head);
    }

    #[test]
    fn many_unterminated_private_keys_stay_linear() {
        let block = format!("-----BEGIN PRIVATE KEY-----\n{}\n", b62(64));
        let text = block.repeat(3000);
        let start = std::time::Instant::now();
        assert_eq!(find(&text).len(), 3000);
        // Was ~1 s in release with the END search inside the regex; debug builds are slower.
        assert!(start.elapsed().as_millis() < 2_000);
    }

    #[test]
    fn private_key_near_misses() {
        let public = pem("PUBLIC KEY");
        assert_none(&public);
        assert_none(&pem("RSA PUBLIC KEY"));
        assert_none(&pem("CERTIFICATE"));
        // A PEM parser's header constant, without a key body.
        assert_none("if line == \"-----BEGIN RSA PRIVATE KEY-----\" {\n    return Kind::Rsa;\n}");
    }

    #[test]
    fn contexts_json_diff_quotes_urls() {
        let gh = format!("ghp_{}", b62(36));
        for text in [
            format!("{{\"token\":\"{gh}\"}}"),
            format!("+API_KEY={gh}"),
            format!("'{gh}'"),
            format!("`{gh}`"),
            format!("https://x-access-token:{gh}@github.com/o/r.git"),
            format!("https://example.com/?token={gh}&x=1"),
            format!("Authorization: token {gh}\r\n"),
            // JSON-escaped newline and URL-encoded `=` right before the key.
            format!("{{\"content\": \"token:\\n{gh}\\n\"}}"),
            format!("grant_type=x&token%3D{gh}%26"),
        ] {
            assert_one(&text, "github_token", &gh);
        }
    }

    #[test]
    fn multiple_and_adjacent_keys_in_order() {
        let a = format!("AKIA{}", b32(16));
        let g = format!("ghp_{}", b62(36));
        let s = format!("sk_live_{}", b62(30));
        let text = format!("{s},{a},{g}\nnext: {a},{a}");
        let found = find(&text);
        let got: Vec<_> = found.iter().map(|m| m.kind).collect();
        assert_eq!(
            got,
            [
                "stripe_secret_key",
                "aws_access_key_id",
                "github_token",
                "aws_access_key_id",
                "aws_access_key_id"
            ]
        );
        assert!(found.windows(2).all(|w| w[0].start < w[1].start));
    }

    #[test]
    fn redaction_never_reveals_the_secret() {
        let key = format!("ghp_{}", b62(36));
        let m = &find(&key)[0];
        assert_eq!(m.redacted, "ghp_…40");
        assert!(!m.redacted.contains(&key[4..]));
    }

    #[test]
    fn ordinary_text_is_clean() {
        assert_none("");
        assert_none("The quick brown fox. Keys are loaded from the environment at runtime.");
        assert_none("let api_key = std::env::var(\"OPENAI_API_KEY\")?;");
        assert_none("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC user@host");
        assert_none("Ünïcödé text with émojis 🎉 and sk- and ghp_ fragments");
    }

    #[test]
    fn large_clean_text_is_fast() {
        let text =
            "fn main() { println!(\"hello, world\"); } // a comment; x = y + 1\n".repeat(160);
        assert!(text.len() > 10_000);
        assert!(!contains(&text));
        let start = std::time::Instant::now();
        for _ in 0..100 {
            assert!(find(&text).is_empty());
        }
        // Generous bound for debug builds on a loaded machine; release is far below this.
        assert!(start.elapsed().as_millis() < 2_000);
    }
}
