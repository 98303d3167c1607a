//! The SQL a shell command hands to a database client (`psql -c`, `mysql -e`, `sqlite3 app.db
//! "…"`, a here-document or an `echo … |` into one), so the db policies judge a Bash call the
//! way they judge a `sql` field. Found on the lexed commands, never by matching the raw text.

use crate::policy::analysis::shell::ShellCommand;
use crate::policy::analysis::sql;

/// How a client takes SQL on its command line.
struct Client {
    names: &'static [&'static str],
    /// Options whose value is SQL: `-c SQL`, `-cSQL` and `--command=SQL` all count.
    short: &'static [&'static str],
    long: &'static [&'static str],
    /// True when the words after the database file are SQL (`sqlite3 app.db "SELECT 1"`).
    positional_after_database: bool,
}

const CLIENTS: &[Client] = &[
    Client {
        names: &["psql", "pgcli", "usql"],
        short: &["-c"],
        long: &["--command"],
        positional_after_database: false,
    },
    Client {
        names: &["mysql", "mariadb", "mycli", "cockroach", "beeline"],
        short: &["-e"],
        long: &["--execute"],
        positional_after_database: false,
    },
    Client {
        names: &["sqlite3", "sqlite", "litecli", "duckdb"],
        short: &["-c", "-cmd"],
        long: &[],
        positional_after_database: true,
    },
    Client {
        names: &["clickhouse", "clickhouse-client"],
        short: &["-q"],
        long: &["--query"],
        positional_after_database: false,
    },
    Client {
        names: &["sqlcmd"],
        short: &["-Q", "-q"],
        long: &[],
        positional_after_database: false,
    },
];

/// Commands that print their words, so `echo "DELETE …" | psql` feeds SQL.
const PRINTERS: &[&str] = &["echo", "printf"];

/// Statement keywords that change data or schema: SQL carrying one is judged even when it does
/// not parse (the policies then fail closed), while other unparsable text — `\dt`, `.tables` —
/// is a client command, not SQL, and is left out.
const CHANGING: &[&str] = &[
    "DELETE", "UPDATE", "INSERT", "MERGE", "DROP", "TRUNCATE", "ALTER", "CREATE", "RENAME",
    "GRANT", "REVOKE", "REPLACE", "COPY",
];

/// The SQL in `commands`, statements joined with `;`, or `None` when there is none.
pub fn sql_of(commands: &[ShellCommand]) -> Option<String> {
    let mut fragments: Vec<String> = Vec::new();
    for command in commands {
        if let Some((client, args)) = client_call(command) {
            fragments.extend(arguments_sql(client, args));
            fragments.extend(
                command
                    .redirects
                    .iter()
                    .filter(|r| {
                        r.op.ends_with("<<") || r.op.ends_with("<<-") || r.op.ends_with("<<<")
                    })
                    .map(|r| r.target.clone()),
            );
        }
        let feeds_a_client = command
            .downstream
            .first()
            .is_some_and(|next| CLIENTS.iter().any(|c| c.names.contains(&next.as_str())));
        if feeds_a_client && PRINTERS.contains(&command.name.as_str()) {
            fragments.push(
                command
                    .args
                    .iter()
                    .filter(|a| !a.starts_with('-'))
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(" "),
            );
        }
        if feeds_a_client && command.name == "cat" {
            fragments.extend(
                command
                    .redirects
                    .iter()
                    .filter(|r| r.op.contains("<<"))
                    .map(|r| r.target.clone()),
            );
        }
    }
    let kept: Vec<String> = fragments
        .iter()
        .map(|f| f.trim().trim_end_matches(';').trim().to_string())
        .filter(|f| !f.is_empty() && is_sql(f))
        .collect();
    (!kept.is_empty()).then(|| kept.join(";\n"))
}

/// The client a command runs and the words it was given: the command itself, or a client named
/// in its words (`docker exec db psql -c …`, `kubectl exec … -- mysql -e …`).
fn client_call(command: &ShellCommand) -> Option<(&'static Client, &[String])> {
    if let Some(client) = CLIENTS
        .iter()
        .find(|c| c.names.contains(&command.name.as_str()))
    {
        return Some((client, &command.args));
    }
    command.args.iter().enumerate().find_map(|(i, word)| {
        let name = word.rsplit('/').next().unwrap_or(word);
        let client = CLIENTS.iter().find(|c| c.names.contains(&name))?;
        Some((client, command.args.get(i + 1..).unwrap_or(&[])))
    })
}

fn arguments_sql(client: &Client, args: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    let mut positional = 0;
    let mut words = args.iter();
    while let Some(word) = words.next() {
        if client.short.contains(&word.as_str()) || client.long.contains(&word.as_str()) {
            found.extend(words.next().cloned());
            continue;
        }
        if let Some(value) = client
            .long
            .iter()
            .find_map(|l| word.strip_prefix(&format!("{l}=")))
        {
            found.push(value.to_string());
            continue;
        }
        // `-cSELECT 1`: a short option with its value glued on (only single-letter options).
        if let Some(value) = client
            .short
            .iter()
            .filter(|s| s.len() == 2)
            .find_map(|s| word.strip_prefix(*s))
            .filter(|v| !v.is_empty())
        {
            found.push(value.to_string());
            continue;
        }
        if word.starts_with('-') {
            continue;
        }
        positional += 1;
        if client.positional_after_database && positional > 1 {
            found.push(word.clone());
        }
    }
    found
}

fn is_sql(text: &str) -> bool {
    sql::statements(text).is_ok()
        || sql::keywords(text)
            .iter()
            .any(|k| CHANGING.contains(&k.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::analysis::shell::commands;

    fn sql(command: &str) -> Option<String> {
        sql_of(&commands(command).unwrap())
    }

    #[test]
    fn each_client_form_yields_its_sql() {
        for (command, wanted) in [
            ("psql -c 'DELETE FROM users'", "DELETE FROM users"),
            ("psql --command='DELETE FROM users;'", "DELETE FROM users"),
            ("psql \"-cDROP TABLE x\"", "DROP TABLE x"),
            (
                "PGPASSWORD=x psql -h db -U app -c \"UPDATE t SET a = 1\" app",
                "UPDATE t SET a = 1",
            ),
            ("mysql -u root -e 'TRUNCATE logs' shop", "TRUNCATE logs"),
            ("mysql --execute='DELETE FROM orders'", "DELETE FROM orders"),
            (
                "sqlite3 app.db 'DELETE FROM sessions'",
                "DELETE FROM sessions",
            ),
            ("sqlite3 -header app.db \"SELECT 1\"", "SELECT 1"),
            (
                "docker exec -i db psql -U app -c 'DROP TABLE users'",
                "DROP TABLE users",
            ),
            ("echo 'DELETE FROM users;' | psql app", "DELETE FROM users"),
            (
                "psql app <<'EOF'\nDELETE FROM users;\nEOF",
                "DELETE FROM users",
            ),
            ("psql app <<< 'DELETE FROM users'", "DELETE FROM users"),
            (
                "sudo -u postgres psql -c 'DROP DATABASE prod'",
                "DROP DATABASE prod",
            ),
        ] {
            assert_eq!(sql(command).as_deref(), Some(wanted), "{command}");
        }
    }

    #[test]
    fn several_statements_are_joined_and_client_commands_left_out() {
        assert_eq!(
            sql("psql -c 'SELECT 1' && mysql -e 'DELETE FROM t WHERE id = 2'").as_deref(),
            Some("SELECT 1;\nDELETE FROM t WHERE id = 2")
        );
        assert_eq!(sql("psql -c '\\dt'"), None);
        assert_eq!(sql("sqlite3 app.db .tables"), None);
        // Unparsable but changing: kept, so the policies fail closed on it.
        assert_eq!(
            sql("psql -c 'DELETE FROM users WHERE'").as_deref(),
            Some("DELETE FROM users WHERE")
        );
    }

    #[test]
    fn commands_that_only_mention_sql_carry_none() {
        for command in [
            "echo 'DELETE FROM users'",
            "grep -r 'DROP TABLE' migrations/",
            "git commit -m 'DELETE FROM users without where was a bug'",
            "psql -f migrate.sql app",
            "sqlite3 app.db",
        ] {
            assert_eq!(sql(command), None, "{command}");
        }
    }
}
