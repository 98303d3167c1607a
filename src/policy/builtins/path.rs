//! Path functions. Paths are judged after normalisation, as the shell would resolve them:
//! `~`, `~user` and `$HOME` expanded, relative paths joined to the workspace, `.` and `..`
//! collapsed lexically (so `/var/../etc/passwd` is `/etc/passwd`).

use super::{Host, str_arg};
use crate::policy::value::Value;

/// The absolute, normalised form of `path` for the given host.
pub fn normalize(path: &str, host: &Host<'_>) -> String {
    let expanded: String = if path == "~" || path.starts_with("~/") {
        format!("{}{}", host.home, path.get(1..).unwrap_or(""))
    } else if let Some(rest) = path.strip_prefix('~') {
        let (user, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let home = if user == "root" {
            "/root".to_string()
        } else {
            format!("/home/{user}")
        };
        format!("{home}{tail}")
    } else if let Some(tail) = strip_home_variable(path) {
        format!("{}{tail}", host.home)
    } else if path.starts_with('/') {
        path.to_string()
    } else {
        format!("{}/{path}", host.workspace)
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in expanded.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    format!("/{}", parts.join("/"))
}

/// `$HOME`, `${HOME}` at the start of a path, followed by `/` or nothing: the rest.
fn strip_home_variable(path: &str) -> Option<&str> {
    ["${HOME}", "$HOME"].iter().find_map(|var| {
        path.strip_prefix(var)
            .filter(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

fn is_within_dir(path: &str, dir: &str) -> bool {
    dir == "/"
        || path == dir
        || path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
}

pub fn normalize_builtin(host: &Host<'_>, args: &[Value]) -> Result<Value, String> {
    Ok(Value::str(normalize(str_arg(args, 0, "the path")?, host)))
}

pub fn is_within(host: &Host<'_>, args: &[Value]) -> Result<Value, String> {
    let path = normalize(str_arg(args, 0, "the path")?, host);
    let dir = normalize(str_arg(args, 1, "the directory")?, host);
    Ok(Value::Bool(is_within_dir(&path, &dir)))
}

fn base(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or("")
}

pub fn basename(host: &Host<'_>, args: &[Value]) -> Result<Value, String> {
    let path = normalize(str_arg(args, 0, "the path")?, host);
    Ok(Value::str(base(&path)))
}

pub fn dirname(host: &Host<'_>, args: &[Value]) -> Result<Value, String> {
    let path = normalize(str_arg(args, 0, "the path")?, host);
    let parent = match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => path.get(..i).unwrap_or("/"),
    };
    Ok(Value::str(parent))
}

pub fn extension(host: &Host<'_>, args: &[Value]) -> Result<Value, String> {
    let path = normalize(str_arg(args, 0, "the path")?, host);
    let name = base(&path);
    let ext = match name.rfind('.') {
        Some(0) | None => "",
        Some(i) => name.get(i + 1..).unwrap_or(""),
    };
    Ok(Value::str(ext.to_lowercase()))
}

pub fn components(host: &Host<'_>, args: &[Value]) -> Result<Value, String> {
    let path = normalize(str_arg(args, 0, "the path")?, host);
    Ok(Value::list(
        path.split('/').filter(|p| !p.is_empty()).map(Value::from),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: Host<'static> = Host {
        workspace: "/work/project",
        home: "/home/agent",
    };

    fn norm(p: &str) -> String {
        normalize(p, &HOST)
    }

    #[test]
    fn normalisation_expands_and_collapses() {
        assert_eq!(norm("/var/../etc/passwd"), "/etc/passwd");
        assert_eq!(norm("src/./main.rs"), "/work/project/src/main.rs");
        assert_eq!(norm("../../../../etc"), "/etc");
        assert_eq!(norm("~"), "/home/agent");
        assert_eq!(norm("~/.ssh/id_rsa"), "/home/agent/.ssh/id_rsa");
        assert_eq!(norm("~root/.bashrc"), "/root/.bashrc");
        assert_eq!(norm("~bob"), "/home/bob");
        assert_eq!(
            norm("$HOME/.aws/credentials"),
            "/home/agent/.aws/credentials"
        );
        assert_eq!(norm("${HOME}"), "/home/agent");
        assert_eq!(norm("$HOMEWORK/x"), "/work/project/$HOMEWORK/x");
        assert_eq!(norm("//etc///x/"), "/etc/x");
        assert_eq!(norm(""), "/work/project");
        assert_eq!(norm("/"), "/");
    }

    #[test]
    fn within_compares_whole_components() {
        assert!(is_within_dir("/etc/passwd", "/etc"));
        assert!(is_within_dir("/etc", "/etc"));
        assert!(!is_within_dir("/etcetera", "/etc"));
        assert!(is_within_dir("/anything", "/"));
        let r = is_within(&HOST, &["/var/../etc/shadow".into(), "/etc/".into()]).unwrap();
        assert_eq!(r, Value::Bool(true));
    }

    #[test]
    fn names_and_extensions() {
        let call = |f: super::super::Implementation, p: &str| f(&HOST, &[p.into()]).unwrap();
        assert_eq!(call(extension, "a/B.PY"), Value::str("py"));
        assert_eq!(call(extension, ".env"), Value::str(""));
        assert_eq!(call(extension, "x.tar.gz"), Value::str("gz"));
        assert_eq!(call(extension, "Makefile"), Value::str(""));
        assert_eq!(
            call(basename, "/repo/.github/workflows/ci.yml"),
            Value::str("ci.yml")
        );
        assert_eq!(call(basename, "dir/"), Value::str("dir"));
        assert_eq!(call(dirname, "/a/b"), Value::str("/a"));
        assert_eq!(call(dirname, "/a"), Value::str("/"));
        assert_eq!(
            call(components, "~/x"),
            Value::list(["home".into(), "agent".into(), "x".into()])
        );
    }
}
