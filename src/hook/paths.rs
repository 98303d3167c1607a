//! Paths as the tool will really reach them: `~`, `$HOME` and `$PWD` expanded, made absolute against the
//! event's working directory, `.` and `..` collapsed, and symlinks resolved as far as the path
//! exists — so `link/../.env`, `./../proj/.env` and a symlink named `notes.txt` pointing at
//! `~/.ssh/id_rsa` are judged as the files they are.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use crate::policy::builtins::path::{collapse, expand};

/// Where relative paths start and what `~` means.
#[derive(Debug, Clone)]
pub struct PathBase {
    /// The directory relative paths are joined to (the event's `cwd`), absolute.
    pub cwd: String,
    /// The home directory `~` and `$HOME` expand to.
    pub home: String,
    /// Directories already resolved for this event: every word of a command is tried as a
    /// path, and most share the working directory as their longest existing prefix.
    resolved: RefCell<HashMap<PathBuf, PathBuf>>,
}

impl PathBase {
    pub fn new(cwd: impl Into<String>, home: impl Into<String>) -> PathBase {
        PathBase {
            cwd: cwd.into(),
            home: home.into(),
            resolved: RefCell::default(),
        }
    }

    /// `path` as written in a command run from `dir` (`cd`, `git -C`): expanded and absolute,
    /// not resolved.
    pub fn within(&self, dir: &Path, path: &str) -> String {
        collapse(&expand(path, &dir.to_string_lossy(), &self.home))
    }

    /// The canonical form of `path`: absolute, normalised, symlinks resolved where they exist.
    pub fn canonical(&self, path: &str) -> String {
        // Expansion and joining first, on the text as written; `..` is left for the resolver
        // below, because `link/..` is the parent of the link's target, not the link's directory.
        let absolute = expand(path, &self.cwd, &self.home);
        match self.resolve_existing(Path::new(&absolute)) {
            Some(resolved) => collapse(&resolved.to_string_lossy()),
            None => collapse(&absolute),
        }
    }

    /// The longest prefix of `path` that exists, resolved by the filesystem (symlinks
    /// followed, `..` taken physically), with the components that do not exist yet appended.
    /// `None` when not even `/` resolves. A prefix that does not exist costs one `lstat`
    /// (the resolver would walk it component by component only to fail); a directory that
    /// does is resolved once per event.
    fn resolve_existing(&self, path: &Path) -> Option<PathBuf> {
        let components: Vec<Component<'_>> = path.components().collect();
        for split in (1..=components.len()).rev() {
            let (head, tail) = components.split_at(split);
            let prefix: PathBuf = head.iter().collect();
            let known = self.resolved.borrow().get(&prefix).cloned();
            let resolved = match known {
                Some(resolved) => resolved,
                None => {
                    if std::fs::symlink_metadata(&prefix).is_err() {
                        continue;
                    }
                    let Ok(resolved) = std::fs::canonicalize(&prefix) else {
                        continue;
                    };
                    if split < components.len() {
                        self.resolved.borrow_mut().insert(prefix, resolved.clone());
                    }
                    resolved
                }
            };
            let mut full = resolved;
            full.extend(tail);
            return Some(full);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(cwd: &Path) -> PathBase {
        PathBase::new(cwd.to_string_lossy(), "/home/dev")
    }

    #[test]
    fn relative_paths_are_joined_to_the_working_directory_and_normalised() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        let b = base(&root);
        let r = root.display();
        assert_eq!(b.canonical("src/main.rs"), format!("{r}/src/main.rs"));
        assert_eq!(b.canonical("./src/../.env"), format!("{r}/.env"));
        assert_eq!(b.canonical("/etc/../etc/passwd"), "/etc/passwd");
    }

    #[test]
    fn home_forms_expand() {
        let dir = tempfile::tempdir().unwrap();
        let b = base(dir.path());
        assert_eq!(b.canonical("~/.ssh/id_rsa"), "/home/dev/.ssh/id_rsa");
        assert_eq!(
            b.canonical("$HOME/.aws/credentials"),
            "/home/dev/.aws/credentials"
        );
        assert_eq!(b.canonical("${HOME}"), "/home/dev");
        assert_eq!(b.canonical("~bob/.netrc"), "/home/bob/.netrc");
        assert_eq!(b.canonical("~root/x"), "/root/x");
    }

    #[test]
    fn symlinks_are_followed_where_they_exist() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        std::fs::create_dir_all(root.join("secret")).unwrap();
        std::fs::write(root.join("secret/.env"), "A=1").unwrap();
        std::fs::create_dir_all(root.join("proj/docs")).unwrap();
        std::os::unix::fs::symlink(root.join("secret/.env"), root.join("proj/notes.txt")).unwrap();
        std::os::unix::fs::symlink(root.join("secret"), root.join("proj/docs/link")).unwrap();
        let b = base(&root.join("proj"));
        let r = root.display();
        assert_eq!(b.canonical("notes.txt"), format!("{r}/secret/.env"));
        // `link/..` is the parent of the link's target, as the kernel resolves it.
        assert_eq!(
            b.canonical("docs/link/../secret/.env"),
            format!("{r}/secret/.env")
        );
        // A file that does not exist yet under a symlinked directory.
        assert_eq!(
            b.canonical("docs/link/new.txt"),
            format!("{r}/secret/new.txt")
        );
        // A path that does not exist at all is normalised lexically.
        assert_eq!(b.canonical("nope/../x"), format!("{r}/proj/x"));
        // Several missing components under a symlinked directory, after its other paths.
        assert_eq!(
            b.canonical("docs/link/a/b/c.txt"),
            format!("{r}/secret/a/b/c.txt")
        );
        // A link whose target is missing is kept as written under its resolved directory.
        std::os::unix::fs::symlink(root.join("gone"), root.join("proj/docs/dangling")).unwrap();
        assert_eq!(
            b.canonical("docs/dangling"),
            format!("{r}/proj/docs/dangling")
        );
    }
}
