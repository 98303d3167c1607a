//! Path functions. Paths are judged after normalisation, as the shell would resolve them:
//! `~`, `~user`, `$HOME` and `$PWD` expanded, relative paths joined to the workspace, `.` and `..`
//! collapsed lexically (so `/var/../etc/passwd` is `/etc/passwd`).

use super::{Host, str_arg};
use crate::policy::value::Value;

/// The absolute, normalised form of `path` for the given host.
pub fn normalize(path: &str, host: &Host<'_>) -> String {
    collapse(&expand(path, host.workspace, host.home))
}

/// `~`, `~user`, `$HOME`/`${HOME}` and `$PWD`/`${PWD}` expanded and a relative path joined to
/// `cwd`, with `.` and `..` kept as written. The Claude Code hook shares it, resolving symlinks
/// before it collapses (`link/..` is the parent of the link's target).
pub(crate) fn expand(path: &str, cwd: &str, home: &str) -> String {
    if path == "~" || path.starts_with("~/") {
        return format!("{home}{}", path.get(1..).unwrap_or(""));
    }
    if let Some(rest) = path.strip_prefix('~') {
        let (user, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let home = if user == "root" {
            "/root".to_string()
        } else {
            format!("/home/{user}")
        };
        return format!("{home}{tail}");
    }
    for (variable, value) in [
        ("${HOME}", home),
        ("$HOME", home),
        ("${PWD}", cwd),
        ("$PWD", cwd),
    ] {
        if let Some(rest) = path.strip_prefix(variable)
            && (rest.is_empty() || rest.starts_with('/'))
        {
            return format!("{value}{rest}");
        }
    }
    if path.starts_with('/') {
        path.to_string()
    } else {
        format!("{}/{path}", cwd.trim_end_matches('/'))
    }
}

/// `.` and `..` collapsed lexically in an absolute path.
pub(crate) fn collapse(absolute: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in absolute.split('/') {
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
        // The working directory is the workspace, as the hook's paths have it.
        assert_eq!(norm("$PWD/../project/.env"), "/work/project/.env");
        assert_eq!(norm("${PWD}"), "/work/project");
        assert_eq!(norm("$PWDX/y"), "/work/project/$PWDX/y");
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
