//! Loading policies: `.enact` files from disk and the built-in library compiled into the binary.
//! A file's namespace is its name without `.enact` (`git.enact` holds `git.*`); test files,
//! named `NAME.test.enact`, sit beside the file they test and share its namespace.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use super::ast;
use super::checker::{self, Checked};
use super::diagnostic::{Code, Diagnostic, did_you_mean};
use super::eval::{Enforcement, PolicyUse};
use super::program::{CompiledPolicy, load_programs};
use super::source::SourceFile;
use super::testing::{self, TestBlock};
use super::value::Value;

/// The built-in library: (namespace, source). Its tests live beside it in `policies/`.
pub const BUILTIN_FILES: &[(&str, &str)] = &[
    ("git", include_str!("../../policies/git.enact")),
    ("db", include_str!("../../policies/db.enact")),
    (
        "filesystem",
        include_str!("../../policies/filesystem.enact"),
    ),
    ("access", include_str!("../../policies/access.enact")),
    ("crm", include_str!("../../policies/crm.enact")),
    ("time", include_str!("../../policies/time.enact")),
    ("slack", include_str!("../../policies/slack.enact")),
    ("email", include_str!("../../policies/email.enact")),
    (
        "cloud_storage",
        include_str!("../../policies/cloud_storage.enact"),
    ),
    (
        "prompt_injection",
        include_str!("../../policies/prompt_injection.enact"),
    ),
    ("search", include_str!("../../policies/search.enact")),
    (
        "coding_agent",
        include_str!("../../policies/coding_agent.enact"),
    ),
];

pub struct LoadedFile {
    pub source: Arc<SourceFile>,
    pub namespace: String,
    /// Files are grouped by directory: tests see the policies of their own directory.
    pub group: String,
    pub is_test_file: bool,
    pub ast: ast::File,
    pub policies: Vec<Arc<CompiledPolicy>>,
}

impl LoadedFile {
    fn load(
        source: Arc<SourceFile>,
        namespace: &str,
        group: &str,
        is_test_file: bool,
    ) -> (LoadedFile, Vec<Diagnostic>) {
        let parsed = super::parse(&source);
        let tree = parsed.file;
        let mut diagnostics = parsed.diagnostics;
        let Checked {
            policies,
            diagnostics: mut checked,
        } = checker::check_policies(&source, &tree, namespace);
        diagnostics.append(&mut checked);
        diagnostics.sort_by_key(|d| d.span.map_or(0, |s| s.start));
        if is_test_file {
            for item in &tree.items {
                if let ast::Item::Policy(policy) = item {
                    diagnostics.push(
                        Diagnostic::new(Code::BadTestCase, format!("policy `{}` is defined in a test file", policy.name.name))
                            .at(&source, policy.name.span)
                            .help(format!("define policies in {namespace}.enact; a .test.enact file holds tests only")),
                    );
                }
            }
        }
        let file = LoadedFile {
            source,
            namespace: namespace.to_string(),
            group: group.to_string(),
            is_test_file,
            ast: tree,
            policies: if is_test_file { Vec::new() } else { policies },
        };
        (file, diagnostics)
    }

    pub fn policy(&self, name: &str) -> Option<&Arc<CompiledPolicy>> {
        self.policies.iter().find(|p| p.name == name)
    }
}

/// Why a test's policy reference did not resolve.
pub enum Resolution {
    /// No such policy; maybe a suggestion.
    Unknown(Option<String>),
    /// The policy exists but has errors of its own, already reported.
    Broken,
}

/// A set of loaded files with everything found wrong in them.
#[derive(Default)]
pub struct PolicySet {
    pub files: Vec<LoadedFile>,
    pub tests: Vec<TestBlock>,
    pub diagnostics: Vec<Diagnostic>,
}

impl PolicySet {
    /// Loads every `.enact` file under the given paths (directories are searched recursively,
    /// in name order), checks them and compiles their tests.
    pub fn load(paths: &[PathBuf]) -> PolicySet {
        let mut set = PolicySet::default();
        let mut sources = Vec::new();
        let mut files = enact_files(paths, &mut set.diagnostics);
        // A test file given alone still needs the policies it tests: NAME.enact beside it.
        let siblings: Vec<PathBuf> = files
            .iter()
            .filter_map(|p| {
                let name = p.file_name()?.to_str()?.strip_suffix(".test.enact")?;
                let sibling = p.with_file_name(format!("{name}.enact"));
                (sibling.exists() && !files.contains(&sibling)).then_some(sibling)
            })
            .collect();
        files.extend(siblings);
        files.sort();
        files.dedup();
        for path in files {
            match std::fs::read_to_string(&path) {
                Ok(text) => sources.push((SourceFile::new(path.display().to_string(), text), path)),
                Err(error) => set.diagnostics.push(Diagnostic::new(
                    Code::Unreadable,
                    format!("cannot read {}: {error}", path.display()),
                )),
            }
        }
        for (source, path) in sources {
            let (namespace, is_test_file) = namespace_of(&path);
            let group = path
                .parent()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            set.add(source, &namespace, &group, is_test_file);
        }
        set.compile_tests();
        set
    }

    /// Loads sources given in memory: (file, namespace, group, is_test_file).
    pub fn from_sources(sources: Vec<(Arc<SourceFile>, String, String, bool)>) -> PolicySet {
        let mut set = PolicySet::default();
        for (source, namespace, group, is_test_file) in sources {
            set.add(source, &namespace, &group, is_test_file);
        }
        set.compile_tests();
        set
    }

    fn add(&mut self, source: Arc<SourceFile>, namespace: &str, group: &str, is_test_file: bool) {
        let (file, mut diagnostics) = LoadedFile::load(source, namespace, group, is_test_file);
        if !is_test_file
            && let Some(other) = self
                .files
                .iter()
                .find(|f| !f.is_test_file && f.group == file.group && f.namespace == file.namespace)
        {
            diagnostics.push(
                Diagnostic::new(
                    Code::DuplicatePolicy,
                    format!(
                        "namespace `{namespace}` is defined by two files: {} and {}",
                        other.source.name, file.source.name
                    ),
                )
                .in_file(&file.source),
            );
        }
        self.diagnostics.append(&mut diagnostics);
        self.files.push(file);
    }

    fn compile_tests(&mut self) {
        let mut tests = Vec::new();
        let mut diagnostics = Vec::new();
        for file in &self.files {
            for item in &file.ast.items {
                let ast::Item::Tests(block) = item else {
                    continue;
                };
                match testing::compile_block(file, block, |reference| {
                    self.resolve_for_tests(file, reference)
                }) {
                    Ok(compiled) => tests.push(compiled),
                    Err(mut errors) => diagnostics.append(&mut errors),
                }
            }
        }
        self.tests = tests;
        self.diagnostics.append(&mut diagnostics);
    }

    /// A test's policy reference: `name` in the test file's own namespace, or `ns.name` in the
    /// same directory, or in the built-in library.
    fn resolve_for_tests(
        &self,
        file: &LoadedFile,
        reference: &str,
    ) -> Result<Arc<CompiledPolicy>, Resolution> {
        let (namespace, name) = reference
            .rsplit_once('.')
            .unwrap_or((file.namespace.as_str(), reference));
        let local = self
            .files
            .iter()
            .filter(|f| !f.is_test_file && f.group == file.group && f.namespace == namespace)
            .find_map(|f| f.policy(name));
        if let Some(policy) = local {
            return Ok(Arc::clone(policy));
        }
        let defined_but_broken = self
            .files
            .iter()
            .filter(|f| !f.is_test_file && f.group == file.group && f.namespace == namespace)
            .flat_map(|f| f.ast.items.iter())
            .any(|item| matches!(item, ast::Item::Policy(p) if p.name.name == name));
        if defined_but_broken {
            return Err(Resolution::Broken);
        }
        let loaded_here = self
            .files
            .iter()
            .any(|f| !f.is_test_file && f.group == file.group && f.namespace == namespace);
        if !loaded_here && let Some(policy) = builtin(&format!("{namespace}.{name}")) {
            return Ok(policy);
        }
        let known: Vec<String> = self
            .files
            .iter()
            .filter(|f| f.group == file.group)
            .flat_map(|f| f.policies.iter().map(|p| p.id.to_string()))
            .chain(builtin_ids())
            .collect();
        let qualified = format!("{namespace}.{name}");
        Err(Resolution::Unknown(did_you_mean(
            &qualified,
            known.iter().map(String::as_str),
        )))
    }

    pub fn policies(&self) -> impl Iterator<Item = &Arc<CompiledPolicy>> {
        self.files.iter().flat_map(|f| f.policies.iter())
    }

    /// Loads files and requires them to be free of errors: the errors otherwise.
    pub fn load_clean(paths: &[PathBuf]) -> Result<PolicySet, Vec<Diagnostic>> {
        let set = PolicySet::load(paths);
        let errors: Vec<Diagnostic> = set
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .cloned()
            .collect();
        if errors.is_empty() {
            Ok(set)
        } else {
            Err(errors)
        }
    }

    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// `git.enact` → ("git", false); `git.test.enact` → ("git", true).
fn namespace_of(path: &Path) -> (String, bool) {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let stem = name.strip_suffix(".enact").unwrap_or(name);
    match stem.strip_suffix(".test") {
        Some(namespace) => (namespace.to_string(), true),
        None => (stem.to_string(), false),
    }
}

pub fn enact_files(paths: &[PathBuf], diagnostics: &mut Vec<Diagnostic>) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>, diagnostics: &mut Vec<Diagnostic>) {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(error) => {
                diagnostics.push(Diagnostic::new(
                    Code::Unreadable,
                    format!("cannot read directory {}: {error}", dir.display()),
                ));
                return;
            }
        };
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in paths {
            let hidden = path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.') || n == "target");
            if hidden {
                continue;
            }
            if path.is_dir() {
                walk(&path, out, diagnostics);
            } else if path.extension().is_some_and(|e| e == "enact") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            walk(path, &mut out, diagnostics);
        } else if path.exists() {
            out.push(path.clone());
        } else {
            diagnostics.push(Diagnostic::new(
                Code::Unreadable,
                format!("{} does not exist", path.display()),
            ));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The built-in library

struct BuiltinNamespace {
    policies: Vec<Arc<CompiledPolicy>>,
    diagnostics: Vec<Diagnostic>,
}

static BUILTIN_CACHE: [OnceLock<BuiltinNamespace>; BUILTIN_FILES.len()] =
    [const { OnceLock::new() }; BUILTIN_FILES.len()];

/// One namespace of the built-in library, on first use only: the programs build.rs checked, or
/// when there are none (the source has diagnostics) the source parsed and checked here.
fn builtin_namespace(index: usize) -> Option<&'static BuiltinNamespace> {
    let (namespace, text) = BUILTIN_FILES.get(index)?;
    let cell = BUILTIN_CACHE.get(index)?;
    Some(cell.get_or_init(|| {
        let source = SourceFile::compiled_in(format!("builtin:{namespace}.enact"), text);
        if let Some(policies) = precompiled(namespace, &source) {
            return BuiltinNamespace {
                policies,
                diagnostics: Vec::new(),
            };
        }
        let (file, diagnostics) = LoadedFile::load(source, namespace, "builtin", false);
        BuiltinNamespace {
            policies: file.policies,
            diagnostics,
        }
    }))
}

mod build {
    // `PRECOMPILED`, written by build.rs.
    include!(concat!(env!("OUT_DIR"), "/library.rs"));
}

/// The policies build.rs checked from a namespace's source, tied to `source`; none when that
/// source had diagnostics (it is then checked here, and they are reported) or is not the one
/// compiled in (cannot happen under cargo; checked because it costs nothing).
fn precompiled(namespace: &str, source: &Arc<SourceFile>) -> Option<Vec<Arc<CompiledPolicy>>> {
    let (_, sha256, len, program) = build::PRECOMPILED
        .iter()
        .find(|(name, ..)| *name == namespace)?;
    if *len != source.text.len() || program.is_empty() {
        return None;
    }
    let policies = read_programs(program, source)?;
    let _ = source.sha256.set(sha256.to_string());
    Some(policies)
}

/// Stored programs read back and tied to their source; none when the bytes are not programs.
fn read_programs(
    bytes: &'static [u8],
    source: &Arc<SourceFile>,
) -> Option<Vec<Arc<CompiledPolicy>>> {
    let policies = load_programs(bytes)?;
    let attached = policies.into_iter().map(|mut policy| {
        policy.attach(source);
        Arc::new(policy)
    });
    Some(attached.collect())
}

/// A built-in policy by id (`git.dont_push_to_main`).
pub fn builtin(id: &str) -> Option<Arc<CompiledPolicy>> {
    let (namespace, name) = id.rsplit_once('.')?;
    let index = BUILTIN_FILES.iter().position(|(ns, _)| *ns == namespace)?;
    builtin_namespace(index)?
        .policies
        .iter()
        .find(|p| p.name == name)
        .cloned()
}

/// Every built-in policy, in library order.
pub fn builtin_all() -> Vec<Arc<CompiledPolicy>> {
    (0..BUILTIN_FILES.len())
        .filter_map(builtin_namespace)
        .flat_map(|ns| ns.policies.iter().cloned())
        .collect()
}

/// Problems in the built-in library itself (a test keeps this empty).
pub fn builtin_diagnostics() -> Vec<Diagnostic> {
    (0..BUILTIN_FILES.len())
        .filter_map(builtin_namespace)
        .flat_map(|ns| ns.diagnostics.iter().cloned())
        .collect()
}

fn builtin_ids() -> Vec<String> {
    builtin_all().iter().map(|p| p.id.to_string()).collect()
}

/// A value for every parameter of the built-in library that has no default, for the tools that
/// evaluate the whole library at once: the benchmark, the property tests and the fuzz targets.
pub const SAMPLE_PARAMETERS: &str = r#"{"tables": ["users", "salaries"], "allowed_dirs": ["/workspace"],
    "extensions": [".pem", ".key"], "paths": ["/etc", "/var/secrets"], "roles": ["admin", "agent"],
    "allowed_roles": ["admin", "agent"], "fields": ["body"], "min_clearance": 2, "start": 9, "end": 17,
    "channels": ["C0123"], "system": "s3"}"#;

/// Every built-in policy bound for use: parameters without a default are taken from `with`
/// (shared by all policies), the others keep their defaults.
pub fn bind_all_builtins(with: &Value, enforcement: Enforcement) -> Result<Vec<PolicyUse>, String> {
    builtin_all()
        .iter()
        .map(|policy| {
            let given: Vec<(Arc<str>, Value)> = policy
                .params
                .iter()
                .filter(|p| p.default.is_none())
                .filter_map(|p| Some((Arc::from(p.name.as_str()), with.get(&p.name)?.clone())))
                .collect();
            bind(policy, &Value::map(given), enforcement)
        })
        .collect()
}

/// Finds a policy by reference: a built-in id, or `FILE.enact:name`.
pub fn resolve(reference: &str) -> Result<Arc<CompiledPolicy>, Vec<Diagnostic>> {
    if let Some((path, name)) = reference.rsplit_once(".enact:") {
        let path = PathBuf::from(format!("{path}.enact"));
        let set = PolicySet::load_clean(std::slice::from_ref(&path))?;
        let found = set.policies().find(|p| p.name == name).cloned();
        return found.ok_or_else(|| {
            let names: Vec<&str> = set.policies().map(|p| p.name.as_str()).collect();
            let mut diagnostic = Diagnostic::new(
                Code::UnknownPolicy,
                format!("{} has no policy `{name}`", path.display()),
            );
            diagnostic.help = did_you_mean(name, names.iter().copied())
                .or_else(|| Some(format!("its policies are: {}", names.join(", "))));
            vec![diagnostic]
        });
    }
    builtin(reference).ok_or_else(|| {
        let ids = builtin_ids();
        let mut diagnostic = Diagnostic::new(Code::UnknownPolicy, format!("unknown policy `{reference}`"));
        diagnostic.help = did_you_mean(reference, ids.iter().map(String::as_str)).or_else(|| {
            Some("a policy is a built-in id such as git.dont_push_to_main (see `enact policies`), or FILE.enact:name".into())
        });
        vec![diagnostic]
    })
}

/// Binds a policy's parameters from a `with` map (JSON/YAML spellings accepted), filling in
/// defaults; unknown, missing or ill-typed parameters are errors naming the fix.
pub fn bind(
    policy: &Arc<CompiledPolicy>,
    with: &Value,
    enforcement: Enforcement,
) -> Result<PolicyUse, String> {
    let given = match with {
        Value::Null => None,
        Value::Map(map) => Some(map),
        other => {
            return Err(format!(
                "`with` must be a map of parameters, got {} `{other}`",
                other.type_name()
            ));
        }
    };
    if let Some(given) = given {
        for key in given.keys() {
            if !policy.params.iter().any(|p| *p.name == **key) {
                let names: Vec<&str> = policy.params.iter().map(|p| p.name.as_str()).collect();
                let hint = did_you_mean(key, names.iter().copied()).unwrap_or_else(|| {
                    if names.is_empty() {
                        "it takes no parameters".to_string()
                    } else {
                        format!("its parameters are {}", names.join(", "))
                    }
                });
                return Err(format!(
                    "policy `{}` has no parameter `{key}`; {hint}",
                    policy.id
                ));
            }
        }
    }
    let mut args = Vec::with_capacity(policy.params.len());
    for param in &policy.params {
        let value = match given.and_then(|g| g.get(param.name.as_str())) {
            Some(value) => param
                .ty
                .coerce(value)
                .map_err(|why| format!("parameter `{}` of `{}`: {why}", param.name, policy.id))?,
            None => param.default.clone().ok_or_else(|| {
                format!(
                    "policy `{}` needs parameter `{}` ({}); give it with `with: {{{}: ...}}`",
                    policy.id,
                    param.name,
                    param.ty.display(),
                    param.name
                )
            })?,
        };
        args.push(value);
    }
    Ok(PolicyUse {
        policy: Arc::clone(policy),
        args,
        enforcement,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::eval::{
        PolicyResult, RuleOutcome, Status, evaluate_on_payload, explain_on_payload,
    };
    use std::borrow::Cow;

    use crate::policy::program::{MessagePart, Node, Op, RuleOp, UnreadableRule, store_programs};
    use crate::receipt::canonical::sha256_hex;

    /// The programs build.rs embedded are exactly what checking the sources here gives: every
    /// node, constant, span and place in the source (compared through their debug form, which
    /// shows every field), and the hashes are the sources' own.
    #[test]
    fn the_embedded_programs_are_the_checked_sources() {
        for (namespace, text) in BUILTIN_FILES {
            let source = SourceFile::new(format!("builtin:{namespace}.enact"), *text);
            let embedded = precompiled(namespace, &source)
                .unwrap_or_else(|| panic!("no program was built for {namespace}"));
            assert_eq!(
                source.sha256.get().map(String::as_str),
                Some(sha256_hex(text.as_bytes()).as_str()),
                "{namespace}"
            );
            let parsed = super::super::parse(&source);
            assert!(parsed.diagnostics.is_empty(), "{namespace}");
            let checked = checker::check_policies(&source, &parsed.file, namespace);
            assert!(checked.diagnostics.is_empty(), "{namespace}");
            assert!(!embedded.is_empty(), "{namespace}");
            assert_eq!(
                format!("{embedded:#?}"),
                format!("{:#?}", checked.policies),
                "{namespace}"
            );
        }
    }

    /// What the library does not use yet is stored too: scopes and glob literals (by their
    /// text), durations, times of day and times (with their types), lists and maps of them,
    /// parameter defaults, lookups and history queries.
    #[test]
    fn every_kind_of_piece_reads_back_as_it_was_checked() {
        let text = r#"policy every_piece(limit: duration = 5m, zones: list<string> = ["UTC", "+02:00"]) {
  applies to workflows "deploy-*", "release"
  let started = time("2026-01-31T22:00:00Z")
  let window = { start: 09:00, end: 17:30, names: ["a", "b"] }
  deny when glob(input.path, "src/**/*.rs") because "'{input.path}' is source"
  deny when input.name matches r"^\w+$" and input.age > limit because "too old"
  warn when started < now and not between(now, window.start, window.end, zones[0]) because "late"
  require history.count(within: 1h) < 3 else "too many"
  pass "ok"
}
"#;
        let source = SourceFile::new("t.enact", text);
        let parsed = super::super::parse(&source);
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        let checked = checker::check_policies(&source, &parsed.file, "t");
        assert!(checked.diagnostics.is_empty(), "{:?}", checked.diagnostics);
        let bytes = store_programs(&checked.policies).unwrap();
        let read = read_programs(Box::leak(bytes.into_boxed_slice()), &source).unwrap();
        assert_eq!(format!("{read:#?}"), format!("{:#?}", checked.policies));
        let debug = format!("{read:?}");
        for piece in [
            "deploy-*",
            "src/**/*.rs",
            "Duration(300000)",
            "TimeOfDay(32400)",
            "2026-01-31T22:00:00Z",
        ] {
            assert!(debug.contains(piece), "{piece} missing from {debug}");
        }
    }

    #[test]
    fn bytes_that_are_not_programs_are_refused() {
        let (program, source) = coding_agent_programs();
        assert!(read_programs(program, &source).is_some());
        assert!(read_programs(&program[..program.len() / 2], &source).is_none());
        // Programs whose shared strings' table is missing: every index is out of range.
        let (_, programs) = postcard::take_from_bytes::<Vec<&str>>(program).unwrap();
        let mut untabled = postcard::to_stdvec(&Vec::<&str>::new()).unwrap();
        untabled.extend_from_slice(programs);
        assert!(read_programs(Box::leak(untabled.into_boxed_slice()), &source).is_none());
    }

    /// A request that leaves `block_terraform_destroy` on its second rule, or takes it to its
    /// third, which calls `shell.commands`.
    fn terraform_result(policy: &Arc<CompiledPolicy>, command: Option<&str>) -> PolicyResult {
        let payload = command.map_or(Value::empty_map(), |c| {
            Value::map([("command", Value::Str(Arc::from(c)))])
        });
        evaluate_on_payload(policy, payload)
    }

    /// The stored programs of the coding-agent namespace, and a source to tie them to.
    fn coding_agent_programs() -> (&'static [u8], Arc<SourceFile>) {
        let (namespace, _, _, program) = build::PRECOMPILED
            .iter()
            .find(|(name, ..)| *name == "coding_agent")
            .unwrap();
        let source = SourceFile::new(format!("builtin:{namespace}.enact"), "");
        (program, source)
    }

    #[test]
    fn stored_rules_are_read_when_reached_and_an_unreadable_one_errors() {
        let (program, source) = coding_agent_programs();
        // The first call of `shell.commands` (in `block_terraform_destroy`'s third rule),
        // renamed to a function the table does not have.
        let name = b"shell.commands";
        let at = program.windows(name.len()).position(|w| w == name).unwrap();
        let mut renamed = program.to_vec();
        renamed[at + name.len() - 1] = b'z';
        let policies = read_programs(Box::leak(renamed.into_boxed_slice()), &source).unwrap();
        let policy = policies
            .iter()
            .find(|p| &*p.id == "coding_agent.block_terraform_destroy")
            .unwrap();
        assert_eq!(policy.rules.read_so_far(), 0);
        // Without a command the policy passes on its second rule: the rest are never read.
        let passed = terraform_result(policy, None);
        assert_eq!(passed.status, Status::Pass, "{passed:?}");
        assert_eq!(policy.rules.read_so_far(), 2);
        assert!(policy.rules.len() > 3);
        // With one, the third rule is reached, does not read back, and the policy errors.
        let errored = terraform_result(policy, Some("terraform destroy"));
        assert_eq!(errored.status, Status::Error, "{errored:?}");
        assert_eq!(policy.rules.read_so_far(), 3);
        assert!(
            errored
                .reason
                .contains("rule 3 of coding_agent.block_terraform_destroy"),
            "{}",
            errored.reason
        );
        assert!(
            errored.reason.contains("rebuild Enact"),
            "{}",
            errored.reason
        );
        let unreadable: Vec<UnreadableRule> = policies
            .iter()
            .flat_map(|p| p.rules.iter().filter_map(Result::err))
            .collect();
        assert_eq!(unreadable.len(), 1, "{unreadable:?}");
        // The same policy as compiled in decides both requests.
        let intact = builtin("coding_agent.block_terraform_destroy").unwrap();
        assert_eq!(terraform_result(&intact, None).status, Status::Pass);
        assert_eq!(
            terraform_result(&intact, Some("terraform destroy")).status,
            Status::Block
        );
    }

    /// What each stored rule says of itself before it is read (whether it is a constant `let`)
    /// is what the rule is once read, over the whole library.
    #[test]
    fn every_stored_rule_knows_unread_whether_it_can_decide() {
        let mut constant_lets = 0;
        for policy in builtin_all() {
            for index in 0..policy.rules.len() {
                let needed = policy.rules.needed_to_decide(index);
                let Some(Ok(rule)) = policy.rules.get(index) else {
                    panic!("rule {index} of {} does not read back", policy.id);
                };
                assert_eq!(
                    needed,
                    !rule.is_constant_let(),
                    "{} rule {index}",
                    policy.id
                );
                constant_lets += usize::from(!needed);
            }
        }
        // The library does bind constants (lists of programs, patterns).
        assert!(constant_lets > 20, "{constant_lets}");
    }

    /// A decision passes over the constant `let`s unread (every use of their names is their
    /// value); a trace reads and shows them, and decides the same.
    #[test]
    fn a_decision_does_not_read_constant_lets_and_a_trace_does() {
        let (program, source) = coding_agent_programs();
        let id = "coding_agent.block_ssh_key_read";
        let requests = [
            ("cat notes.md", Status::Pass),
            ("cat ~/.ssh/id_rsa", Status::Block),
            ("FOO=1 sh -c 'tail /home/a/.ssh/id_ed25519'", Status::Block),
        ];
        for (command, expected) in requests {
            let payload = || Value::map([("command", Value::Str(Arc::from(command)))]);
            let fresh = || {
                let policies = read_programs(program, &source).unwrap();
                policies.into_iter().find(|p| &*p.id == id).unwrap()
            };
            let policy = fresh();
            let constant = (0..policy.rules.len())
                .filter(|&index| !policy.rules.needed_to_decide(index))
                .count();
            assert!(constant >= 5, "{constant}");
            let (decided, _) = explain_on_payload(&policy, payload(), false);
            assert_eq!(decided.status, expected, "{command}: {decided:?}");
            if expected == Status::Pass {
                // A pass reaches the last rule: everything but the constants was read.
                assert_eq!(policy.rules.read_so_far(), policy.rules.len() - constant);
            }
            let traced_policy = fresh();
            let (traced, trace) = explain_on_payload(&traced_policy, payload(), true);
            assert_eq!(
                (traced.status, &traced.reason),
                (decided.status, &decided.reason),
                "{command}"
            );
            let bound = trace
                .iter()
                .filter(|t| t.outcome == RuleOutcome::Bound)
                .count();
            assert!(bound >= constant, "{command}: {bound} bound");
            assert_eq!(traced_policy.rules.read_so_far(), policy.rules.len());
        }
    }

    #[test]
    fn a_namespace_reads_each_shared_string_once() {
        // Both policies start `let command = input.command`: one string, read once.
        let field_name = |id: &str| {
            let policy = builtin(id).unwrap();
            let Some(Ok(rule)) = policy.rules.get(0) else {
                panic!("{id} has no first rule");
            };
            let RuleOp::Let { value, .. } = &rule.kind else {
                panic!("{id} does not start with a let");
            };
            let Some(Node {
                op: Op::Field(_, name),
                ..
            }) = rule.exprs.get(*value)
            else {
                panic!("{id} does not start by reading a field");
            };
            Arc::clone(name)
        };
        let first = field_name("coding_agent.block_terraform_destroy");
        let second = field_name("coding_agent.block_drizzle_force_push");
        assert_eq!(&*first, "command");
        assert!(Arc::ptr_eq(&first, &second));
    }

    /// A built-in policy's file is the text compiled into Enact, not a copy of it made by every
    /// process that loads the library.
    #[test]
    fn the_built_in_library_is_not_copied_to_be_loaded() {
        let policy = builtin("git.dont_push_to_main").unwrap();
        let (_, text) = BUILTIN_FILES.iter().find(|(ns, _)| *ns == "git").unwrap();
        assert!(matches!(policy.file.text, std::borrow::Cow::Borrowed(_)));
        assert_eq!(&*policy.file.name, "builtin:git.enact");
        assert_eq!(policy.file.text, *text);
    }

    /// A stored rule's words (its message, its evidence's names) are borrowed from the
    /// programs compiled into Enact when it is read, not copied.
    #[test]
    fn a_stored_rule_reads_its_words_in_place() {
        let policy = builtin("git.dont_push_to_main").unwrap();
        let mut texts = 0;
        for rule in policy.rules.iter() {
            let rule = rule.unwrap();
            let message = match &rule.kind {
                RuleOp::Deny { message, .. } | RuleOp::Require { message, .. } => message,
                _ => continue,
            };
            for part in &message.parts {
                if let MessagePart::Text(text) = part {
                    assert!(matches!(text, Cow::Borrowed(_)), "{text}");
                    texts += 1;
                }
            }
            for (name, _) in &rule.evidence {
                assert!(matches!(name, Cow::Borrowed(_)), "{name}");
                texts += 1;
            }
        }
        assert!(texts > 2, "only {texts} texts");
    }

    #[test]
    fn a_source_that_is_not_the_one_compiled_in_gets_no_program() {
        let (namespace, text) = BUILTIN_FILES.first().unwrap();
        let source = |text: &str| SourceFile::new(format!("builtin:{namespace}.enact"), text);
        assert!(precompiled(namespace, &source(text)).is_some());
        assert!(precompiled(namespace, &source(&format!("{text}\n"))).is_none());
        assert!(precompiled("no_such_namespace", &source(text)).is_none());
    }

    #[test]
    fn library_policies_carry_their_source_hash_and_locations() {
        let policy = builtin("coding_agent.block_terraform_destroy").unwrap();
        let text = &policy.file.text;
        assert_eq!(
            policy.file.sha256.get().map(String::as_str),
            Some(sha256_hex(text.as_bytes()).as_str())
        );
        let line = text
            .lines()
            .position(|l| l.starts_with("policy block_terraform_destroy "))
            .unwrap();
        let at = policy.file.location(policy.span);
        assert_eq!(
            (&*at.file, at.line, at.column),
            ("builtin:coding_agent.enact", line + 1, 1)
        );
    }
}
