//! The branches a shell command pushes to (`git push origin main`, `git push origin HEAD:main`,
//! `git push -u origin +feature`, `git push` on a checked-out `main`), so the git policies judge
//! a Bash call the way they judge a workflow's `branch` field. Found on the lexed commands, never
//! by matching the raw text. A push that names no branch pushes the current one, read from the
//! repository's `HEAD` (in the event's `cwd`, after any `cd` and `git -C`).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use super::paths::PathBase;
use crate::policy::analysis::shell::ShellCommand;

/// Git's global options that take a separate value (`git -C dir push`).
const GLOBAL_WITH_VALUE: &[&str] = &[
    "-C",
    "-c",
    "--git-dir",
    "--work-tree",
    "--namespace",
    "--exec-path",
    "--config-env",
];

/// `git push` options that take a separate value.
const PUSH_WITH_VALUE: &[&str] = &["-o", "--push-option", "--repo", "--receive-pack", "--exec"];

/// The branches the commands push to, in order and without repeats; empty when none pushes.
/// `base` holds the directory the command starts in.
pub fn pushed_branches(commands: &[ShellCommand], base: &PathBase) -> Vec<String> {
    let mut branches: Vec<String> = Vec::new();
    let mut dir = PathBuf::from(&base.cwd);
    for command in commands {
        if command.name == "cd" {
            match command.args.as_slice() {
                [] => dir = PathBuf::from(&base.home),
                [target] => dir = PathBuf::from(base.within(&dir, target)),
                _ => {}
            }
            continue;
        }
        if command.name != "git" {
            continue;
        }
        let Some(push) = parse_push(&command.args, &dir, base) else {
            continue;
        };
        for branch in push.branches() {
            if !branches.contains(&branch) {
                branches.push(branch);
            }
        }
    }
    branches
}

/// One `git push`, as far as the branches go.
struct Push {
    /// The repository's directory (`cwd`, after `cd` and `-C`).
    dir: PathBuf,
    /// The refspecs after the remote.
    refspecs: Vec<String>,
    /// `--all` / `--branches` / `--mirror`: every local branch.
    all: bool,
    /// `--tags` without refspecs pushes tags only.
    tags: bool,
}

/// The push in `git ARGS`, or `None` when the subcommand is not `push`.
fn parse_push(args: &[String], dir: &Path, base: &PathBase) -> Option<Push> {
    let mut dir = dir.to_path_buf();
    let mut words = args.iter();
    // Global options, then the subcommand.
    loop {
        let word = words.next()?;
        if word == "-C" {
            dir = PathBuf::from(base.within(&dir, words.next()?));
        } else if GLOBAL_WITH_VALUE.contains(&word.as_str()) {
            words.next()?;
        } else if word.starts_with('-') {
            continue;
        } else if word == "push" {
            break;
        } else {
            return None;
        }
    }
    let mut positional = Vec::new();
    let mut all = false;
    let mut tags = false;
    let mut only_options = false;
    while let Some(word) = words.next() {
        if only_options || !word.starts_with('-') || word == "-" {
            positional.push(word.clone());
        } else if word == "--" {
            only_options = true;
        } else if PUSH_WITH_VALUE.contains(&word.as_str()) {
            words.next();
        } else if matches!(word.as_str(), "--all" | "--branches" | "--mirror") {
            all = true;
        } else if word == "--tags" {
            tags = true;
        }
    }
    // The first word is the remote; the rest are refspecs.
    let refspecs = positional.into_iter().skip(1).collect();
    Some(Push {
        dir,
        refspecs,
        all,
        tags,
    })
}

impl Push {
    fn branches(&self) -> Vec<String> {
        let mut branches = Vec::new();
        if self.all {
            branches.extend(local_branches(&self.dir));
        }
        if self.refspecs.is_empty() && !self.all && !self.tags {
            branches.extend(current_branch(&self.dir));
        }
        for refspec in &self.refspecs {
            let refspec = refspec.strip_prefix('+').unwrap_or(refspec);
            // `src:dst` pushes to dst (`:dst` deletes it); a lone name pushes to itself.
            let destination = refspec.rsplit_once(':').map_or(refspec, |(_, dst)| dst);
            match destination {
                "HEAD" | "@" => branches.extend(current_branch(&self.dir)),
                "" => {}
                name if name.starts_with("refs/tags/") => {}
                name => branches.push(name.strip_prefix("refs/heads/").unwrap_or(name).to_string()),
            }
        }
        branches
    }
}

/// The lines of a small regular file (`HEAD`, a `.git` link, `commondir`, `packed-refs`), read
/// one at a time. Anything else — a FIFO, a device, a directory — is not read: the files are
/// the agent's to shape, and opening a FIFO would block the hook until Claude Code gave up on
/// it.
fn lines_of(path: &Path) -> Option<impl Iterator<Item = String>> {
    if !std::fs::metadata(path).ok()?.is_file() {
        return None;
    }
    let file = std::fs::File::open(path).ok()?;
    Some(BufReader::new(file).lines().map_while(Result::ok))
}

fn first_line(path: &Path) -> Option<String> {
    lines_of(path)?.next().map(|line| line.trim().to_string())
}

/// The git directory of the repository `dir` lies in: `.git`, or where a `.git` file points
/// (worktrees, submodules).
fn git_dir(dir: &Path) -> Option<PathBuf> {
    for candidate in dir.ancestors() {
        let dot_git = candidate.join(".git");
        if dot_git.is_dir() {
            return Some(dot_git);
        }
        if let Some(link) = first_line(&dot_git) {
            let pointed = link.strip_prefix("gitdir:")?.trim().to_string();
            return Some(candidate.join(pointed));
        }
    }
    None
}

/// The branch checked out in `dir`'s repository; none when detached or not a repository.
fn current_branch(dir: &Path) -> Option<String> {
    let head = first_line(&git_dir(dir)?.join("HEAD"))?;
    let name = head.strip_prefix("ref: refs/heads/")?;
    (!name.is_empty()).then(|| name.to_string())
}

/// Every local branch of `dir`'s repository: loose refs and packed ones. A worktree's branches
/// live in the common directory.
fn local_branches(dir: &Path) -> Vec<String> {
    let Some(git) = git_dir(dir) else {
        return Vec::new();
    };
    let common = first_line(&git.join("commondir"))
        .map(|c| git.join(c))
        .unwrap_or(git);
    let mut names = Vec::new();
    collect_loose(&common.join("refs/heads"), "", &mut names);
    if let Some(packed) = lines_of(&common.join("packed-refs")) {
        names.extend(packed.filter_map(|line| {
            let (_, name) = line.split_once(' ')?;
            Some(name.strip_prefix("refs/heads/")?.to_string())
        }));
    }
    names.sort();
    names.dedup();
    names
}

fn collect_loose(dir: &Path, prefix: &str, names: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
        // The entry's own type: a symbolic link to a directory is not followed (no loops).
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            collect_loose(&entry.path(), &format!("{name}/"), names);
        } else {
            names.push(name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::analysis::shell;

    /// The branches `script` pushes to, run from `cwd` (also the home directory).
    fn pushed(script: &str, cwd: &Path) -> Vec<String> {
        pushed_with_home(script, cwd, cwd)
    }

    fn pushed_with_home(script: &str, cwd: &Path, home: &Path) -> Vec<String> {
        let base = PathBase::new(cwd.display().to_string(), home.display().to_string());
        pushed_branches(&shell::commands(script).unwrap(), &base)
    }

    /// A repository with `main` checked out and branches `main`, `agent/x` (loose) and
    /// `release` (packed), plus a worktree on `agent/x`.
    fn repository() -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        let git = root.path().join("repo/.git");
        std::fs::create_dir_all(git.join("refs/heads/agent")).unwrap();
        std::fs::write(git.join("HEAD"), "ref: refs/heads/main\n").unwrap();
        std::fs::write(git.join("refs/heads/main"), "0".repeat(40)).unwrap();
        std::fs::write(git.join("refs/heads/agent/x"), "0".repeat(40)).unwrap();
        std::fs::write(
            git.join("packed-refs"),
            format!(
                "# pack-refs with: peeled\n{} refs/heads/release\n",
                "1".repeat(40)
            ),
        )
        .unwrap();
        std::fs::create_dir_all(git.join("worktrees/wt")).unwrap();
        std::fs::write(git.join("worktrees/wt/HEAD"), "ref: refs/heads/agent/x\n").unwrap();
        std::fs::write(git.join("worktrees/wt/commondir"), "../..\n").unwrap();
        std::fs::create_dir_all(root.path().join("wt/src")).unwrap();
        std::fs::write(
            root.path().join("wt/.git"),
            format!("gitdir: {}\n", git.join("worktrees/wt").display()),
        )
        .unwrap();
        root
    }

    #[test]
    fn refspecs_name_the_destination() {
        let nowhere = Path::new("/nonexistent");
        assert_eq!(pushed("git push origin main", nowhere), ["main"]);
        assert_eq!(pushed("git push origin HEAD:main", nowhere), ["main"]);
        assert_eq!(
            pushed("git push origin +feature:refs/heads/Master", nowhere),
            ["Master"]
        );
        assert_eq!(
            pushed("git push -u origin agent/fix-42", nowhere),
            ["agent/fix-42"]
        );
        assert_eq!(
            pushed("git push origin :main", nowhere),
            ["main"],
            "a deletion"
        );
        assert_eq!(pushed("git push --delete origin main", nowhere), ["main"]);
        assert_eq!(pushed("git push origin a b a", nowhere), ["a", "b"]);
        assert_eq!(
            pushed(
                "git -c push.default=current push -o ci.skip origin main",
                nowhere
            ),
            ["main"]
        );
        assert_eq!(
            pushed("git push --repo=origin origin -- main", nowhere),
            ["main"]
        );
        assert_eq!(pushed("FOO=1 sudo git push origin main", nowhere), ["main"]);
        assert_eq!(pushed("sh -c 'git push origin main'", nowhere), ["main"]);
        assert_eq!(
            pushed("git push origin x && git push upstream main", nowhere),
            ["x", "main"]
        );
        assert!(pushed("git push origin v1.0 refs/tags/v2", nowhere) == ["v1.0"]);
        assert!(pushed("git pull origin main", nowhere).is_empty());
        assert!(pushed("git log --grep push main", nowhere).is_empty());
        assert!(pushed("echo git push origin main", nowhere).is_empty());
    }

    #[test]
    fn a_push_without_a_branch_pushes_the_checked_out_one() {
        let root = repository();
        let repo = root.path().join("repo");
        assert_eq!(pushed("git push", &repo), ["main"]);
        assert_eq!(pushed("git push origin", &repo.join("src")), ["main"]);
        assert_eq!(pushed("git push origin HEAD", &repo), ["main"]);
        assert_eq!(pushed("cd repo && git push", root.path()), ["main"]);
        assert_eq!(pushed("git -C repo push origin", root.path()), ["main"]);
        assert!(
            pushed_with_home("cd; git push", &repo, root.path()).is_empty(),
            "a bare cd goes home, which is no repository here"
        );
        assert_eq!(
            pushed("cd ~/repo/src; git push", root.path()),
            ["main"],
            "~ is home"
        );
        assert!(pushed("git push --tags", &repo).is_empty(), "tags only");
        assert_eq!(pushed("git push --tags origin main", &repo), ["main"]);
        assert_eq!(pushed("git push", &root.path().join("wt/src")), ["agent/x"]);
        assert!(
            pushed("git push", root.path()).is_empty(),
            "not a repository"
        );
        assert_eq!(
            pushed("git push --all origin", &repo),
            ["agent/x", "main", "release"]
        );
        assert_eq!(
            pushed("git push --mirror origin", &root.path().join("wt")),
            ["agent/x", "main", "release"]
        );
    }

    #[test]
    fn files_the_agent_shaped_do_not_hang_or_loop_the_hook() {
        let root = repository();
        let git = root.path().join("repo/.git");
        // A loop of directory links under refs/heads is listed, not followed.
        std::os::unix::fs::symlink(git.join("refs/heads"), git.join("refs/heads/loop")).unwrap();
        assert_eq!(
            pushed("git push --all origin", &root.path().join("repo")),
            ["agent/x", "loop", "main", "release"]
        );
        // A FIFO where `.git` or HEAD should be is never opened (opening it would block).
        let fifo_repo = root.path().join("fifo");
        std::fs::create_dir_all(&fifo_repo).unwrap();
        let status = std::process::Command::new("mkfifo")
            .arg(fifo_repo.join(".git"))
            .status()
            .unwrap();
        assert!(status.success());
        assert!(pushed("git push", &fifo_repo).is_empty());
        std::fs::remove_file(git.join("HEAD")).unwrap();
        let status = std::process::Command::new("mkfifo")
            .arg(git.join("HEAD"))
            .status()
            .unwrap();
        assert!(status.success());
        assert!(pushed("git push", &root.path().join("repo")).is_empty());
    }
}
