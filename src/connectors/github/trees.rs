//! Git trees read through the API, one directory at a time: what sits at a path, and which
//! files differ between two trees. Comparing trees ourselves (instead of GitHub's compare
//! endpoint, which stops listing files at 300) makes the merge revert exact for any size of
//! change, and costs one request per directory that changed.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::rc::Rc;

use octocrab::models::GitTree;
use octocrab::models::commits::GitCommitObject;

use super::Repo;
use super::api::Api;
use crate::connectors::ConnectorError;

/// A file as a tree holds it: a blob (mode 100644 or 100755), a symlink (120000) or a
/// submodule's commit (160000). Directories are never leaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leaf {
    pub mode: String,
    pub kind: String,
    pub sha: String,
}

/// A file that differs between two trees: absent on one side when it was added or removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub before: Option<Leaf>,
    pub after: Option<Leaf>,
}

/// What a path names in a tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    Missing,
    Directory,
    File(Leaf),
    /// A part of the path before the last is a file, so nothing can be under it.
    BelowFile,
}

/// The trees of one repository, each fetched once.
pub struct Trees<'a> {
    api: &'a Api,
    repo: &'a Repo,
    cache: RefCell<HashMap<String, Listing>>,
}

/// One directory's entries, by name, shared between lookups.
type Listing = Rc<Vec<(String, Entry)>>;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    mode: String,
    kind: String,
    sha: String,
}

impl Entry {
    fn is_tree(&self) -> bool {
        self.kind == "tree"
    }

    fn leaf(&self) -> Option<Leaf> {
        (!self.is_tree()).then(|| Leaf {
            mode: self.mode.clone(),
            kind: self.kind.clone(),
            sha: self.sha.clone(),
        })
    }
}

impl<'a> Trees<'a> {
    pub fn new(api: &'a Api, repo: &'a Repo) -> Trees<'a> {
        Trees {
            api,
            repo,
            cache: RefCell::default(),
        }
    }

    /// The commit a SHA names.
    pub fn commit(&self, sha: &str) -> Result<GitCommitObject, ConnectorError> {
        Ok(self
            .api
            .get(&format!("{}/git/commits/{sha}", self.repo.route()))?)
    }

    /// The root tree of a commit.
    pub fn tree_of(&self, commit: &str) -> Result<String, ConnectorError> {
        Ok(self.commit(commit)?.tree.sha)
    }

    /// One directory's entries, by name.
    fn entries(&self, tree: &str) -> Result<Listing, ConnectorError> {
        if let Some(found) = self.cache.borrow().get(tree) {
            return Ok(Rc::clone(found));
        }
        let route = format!("{}/git/trees/{tree}", self.repo.route());
        let listing: GitTree = self.api.get(&route)?;
        if listing.truncated {
            return Err(ConnectorError::Failed(format!(
                "GitHub listed only part of directory tree {tree} in {} (GET {route} is \
                 truncated); Enact will not act on a partial view — do this by hand",
                self.repo.full_name()
            )));
        }
        let entries: Vec<(String, Entry)> = listing
            .tree
            .into_iter()
            .map(|e| {
                (
                    e.path,
                    Entry {
                        mode: e.mode,
                        kind: e.r#type,
                        sha: e.sha,
                    },
                )
            })
            .collect();
        let entries = Rc::new(entries);
        self.cache
            .borrow_mut()
            .insert(tree.to_string(), Rc::clone(&entries));
        Ok(entries)
    }

    /// What `path` (`a/b/c.txt`) names in the tree `root`.
    pub fn lookup(&self, root: &str, path: &str) -> Result<Found, ConnectorError> {
        let mut tree = root.to_string();
        let mut parts = path.split('/').peekable();
        while let Some(part) = parts.next() {
            let entries = self.entries(&tree)?;
            let Some((_, entry)) = entries.iter().find(|(name, _)| name == part) else {
                return Ok(Found::Missing);
            };
            match (entry.leaf(), parts.peek().is_some()) {
                (Some(leaf), false) => return Ok(Found::File(leaf)),
                (Some(_), true) => return Ok(Found::BelowFile),
                (None, false) => return Ok(Found::Directory),
                (None, true) => tree = entry.sha.clone(),
            }
        }
        Ok(Found::Missing)
    }

    /// Every file that differs between two trees, by path. A directory present on one side
    /// only contributes each of its files.
    pub fn changes(
        &self,
        before: &str,
        after: &str,
    ) -> Result<BTreeMap<String, Change>, ConnectorError> {
        let mut out = BTreeMap::new();
        self.diff(Some(before), Some(after), "", &mut out)?;
        Ok(out)
    }

    fn diff(
        &self,
        before: Option<&str>,
        after: Option<&str>,
        prefix: &str,
        out: &mut BTreeMap<String, Change>,
    ) -> Result<(), ConnectorError> {
        if before == after {
            return Ok(());
        }
        let empty = Rc::new(Vec::new());
        let left = match before {
            Some(tree) => self.entries(tree)?,
            None => Rc::clone(&empty),
        };
        let right = match after {
            Some(tree) => self.entries(tree)?,
            None => empty,
        };
        let names: BTreeSet<&str> = left
            .iter()
            .chain(right.iter())
            .map(|(name, _)| name.as_str())
            .collect();
        for name in names {
            let x = left.iter().find(|(n, _)| n == name).map(|(_, e)| e);
            let y = right.iter().find(|(n, _)| n == name).map(|(_, e)| e);
            if x == y {
                continue;
            }
            let path = if prefix.is_empty() {
                name.to_string()
            } else {
                format!("{prefix}/{name}")
            };
            let x_tree = x.filter(|e| e.is_tree()).map(|e| e.sha.as_str());
            let y_tree = y.filter(|e| e.is_tree()).map(|e| e.sha.as_str());
            if x_tree.is_some() || y_tree.is_some() {
                self.diff(x_tree, y_tree, &path, out)?;
            }
            let x_leaf = x.and_then(Entry::leaf);
            let y_leaf = y.and_then(Entry::leaf);
            if x_leaf != y_leaf {
                out.insert(
                    path,
                    Change {
                        before: x_leaf,
                        after: y_leaf,
                    },
                );
            }
        }
        Ok(())
    }
}

/// The paths of `ours` that `theirs` also touched: the same file, or a file where the other
/// side has a directory.
pub fn overlapping<'p>(
    ours: impl IntoIterator<Item = &'p String>,
    theirs: &BTreeMap<String, Change>,
) -> Vec<String> {
    let mut found = Vec::new();
    for path in ours {
        let touched = theirs.keys().any(|other| {
            other == path
                || other.starts_with(&format!("{path}/"))
                || path.starts_with(&format!("{other}/"))
        });
        if touched {
            found.push(path.clone());
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changed(paths: &[&str]) -> BTreeMap<String, Change> {
        paths
            .iter()
            .map(|p| {
                (
                    p.to_string(),
                    Change {
                        before: None,
                        after: None,
                    },
                )
            })
            .collect()
    }

    #[test]
    fn overlap_is_the_same_file_or_a_file_where_the_other_has_a_directory() {
        let ours: Vec<String> = ["src/a.rs", "docs", "README.md", "lib/x"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let theirs = changed(&["src/a.rs", "docs/guide.md", "lib", "src/ab.rs", "READ"]);
        assert_eq!(overlapping(&ours, &theirs), ["src/a.rs", "docs", "lib/x"]);
        assert!(overlapping(&ours, &changed(&["src/b.rs"])).is_empty());
    }
}
