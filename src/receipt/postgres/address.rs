//! The store's URL: parsed into a connection configuration, refused when it holds a password
//! (that comes from `PGPASSWORD`, libpq's convention, so enact.yaml can be committed), and
//! described for messages without any credential.

use std::time::Duration;

use ::postgres::Config;
use ::postgres::config::Host;

use crate::receipt::error::ReceiptError;

/// How long to wait for the server before giving up: an unreachable store fails the run
/// (closed) rather than hanging it.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_PORT: u16 = 5432;

/// `url` as a connection configuration with `password` (from `PGPASSWORD`) set, and its
/// description `host:port/database`.
pub(super) fn configure(
    url: &str,
    password: Option<&[u8]>,
) -> Result<(Config, String), ReceiptError> {
    let mut config: Config = url.parse().map_err(|error| ReceiptError::BadStoreUrl {
        url: mask_password(url),
        message: super::error_text(&error),
    })?;
    if config.get_password().is_some() {
        return Err(ReceiptError::PasswordInUrl {
            url: mask_password(url),
        });
    }
    if let Some(password) = password.filter(|password| !password.is_empty()) {
        config.password(password);
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    if config.get_application_name().is_none() {
        config.application_name("enact");
    }
    let address = describe(&config);
    Ok((config, address))
}

/// `host:port/database` (several hosts joined by commas): what messages name the store by.
fn describe(config: &Config) -> String {
    let ports = config.get_ports();
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(index, host)| {
            let port = ports
                .get(index)
                .or_else(|| ports.first())
                .copied()
                .unwrap_or(DEFAULT_PORT);
            match host {
                Host::Tcp(name) => format!("{name}:{port}"),
                Host::Unix(path) => format!("{}:{port}", path.display()),
            }
        })
        .collect();
    // libpq's default database is the user's name.
    let database = config
        .get_dbname()
        .or_else(|| config.get_user())
        .unwrap_or_default();
    format!("{}/{database}", hosts.join(","))
}

/// `url` with the password of its user part and any `password=` parameter replaced by `***`,
/// for messages about a URL that must not echo a credential.
pub(super) fn mask_password(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((user_info, hosts)) => match user_info.split_once(':') {
            Some((user, _password)) => format!("{user}:***@{hosts}"),
            None => authority.to_string(),
        },
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((key, _)) if key.eq_ignore_ascii_case("password") => {
                        format!("{key}=***")
                    }
                    _ => pair.to_string(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_string(),
    };
    if scheme.is_empty() {
        format!("{authority}{tail}")
    } else {
        format!("{scheme}://{authority}{tail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_masked_wherever_the_url_holds_them() {
        assert_eq!(
            mask_password("postgres://enact:s3cret@db.example:5433/receipts"),
            "postgres://enact:***@db.example:5433/receipts"
        );
        assert_eq!(
            mask_password("postgresql://enact@h/db?sslmode=disable&password=s3cret"),
            "postgresql://enact@h/db?sslmode=disable&password=***"
        );
        assert_eq!(
            mask_password("postgres://enact@h:1/db"),
            "postgres://enact@h:1/db"
        );
    }

    #[test]
    fn a_url_with_a_password_is_refused_without_echoing_it() {
        for url in [
            "postgres://enact:s3cret@127.0.0.1:5432/receipts",
            "postgres://enact@127.0.0.1:5432/receipts?password=s3cret",
        ] {
            let error = configure(url, None).unwrap_err();
            let message = error.to_string();
            assert!(
                matches!(error, ReceiptError::PasswordInUrl { .. }),
                "{message}"
            );
            assert!(!message.contains("s3cret"), "{message}");
            assert!(message.contains("PGPASSWORD"), "{message}");
        }
    }

    #[test]
    fn the_description_names_host_port_and_database_only() {
        let (config, address) =
            configure("postgres://enact@127.0.0.1:5433/receipts", Some(b"pw")).unwrap();
        assert_eq!(address, "127.0.0.1:5433/receipts");
        assert_eq!(config.get_password(), Some(&b"pw"[..]));
        assert_eq!(config.get_connect_timeout(), Some(&CONNECT_TIMEOUT));
        let (_, address) = configure("postgres://enact@db.internal/", None).unwrap();
        assert_eq!(address, "db.internal:5432/enact");
        let (config, _) = configure("postgres://enact@h/db", Some(b"")).unwrap();
        assert_eq!(
            config.get_password(),
            None,
            "an empty PGPASSWORD is no password"
        );
    }

    #[test]
    fn a_malformed_url_is_refused_with_the_reason() {
        let error = configure("postgres://enact:pw@h:notaport/db", None).unwrap_err();
        let message = error.to_string();
        assert!(!message.contains(":pw@"), "{message}");
        assert!(message.contains("port"), "{message}");
    }
}
