//! The layer guard: reads the `use` lines (and inline `crate::` paths) of every file under `src/`
//! and fails when
//! - a lower layer names a higher one ([`LAYERS`], bottom up; a top-level module not listed there
//!   is a foundation utility such as `metrics` or `limits`: anyone may use it, it uses no other
//!   module of the crate but the [`BASE`] ones), or
//! - two parts of one module directory import each other (A imports B and B imports A), counting
//!   a subdirectory as one part, and an item re-exported by a `mod.rs` as the file that defines it.
//!
//! `pub use` re-exports are a module's facade, not imports, and are not counted; neither are
//! comments nor a `mod.rs` calling its children through their module names.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

/// The layers, bottom up: a module may import the modules of lower layers only.
const LAYERS: &[&str] = &[
    "engineio",
    "socketio",
    "store",
    "accounts",
    "hub",
    "cluster",
    "admin",
    "apps",
    "web",
    "conformance",
    "config",
    "telemetry",
    "startup",
];

/// Files not judged: the crate roots (main.rs's `crate::` is the binary; lib.rs only declares
/// the modules) and this guard, whose test sources name layers in strings.
const SKIPPED: &[&str] = &["lib.rs", "main.rs", "layers_test.rs"];

/// How many re-exports are followed from a use to the file that defines the item.
const MAX_REEXPORT_HOPS: usize = 8;

/// Every `.rs` file under `dir`, as (path relative to `dir` with `/` separators, text).
fn read_sources(dir: &Path) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        // A test that cannot read its own sources has nothing to check: failing is right.
        for entry in std::fs::read_dir(&next).expect("src/ is readable") {
            let path = entry.expect("src/ entries are readable").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                let relative = path.strip_prefix(dir).expect("found under dir");
                let name = relative.to_string_lossy().replace('\\', "/");
                let text = std::fs::read_to_string(&path).expect("sources are UTF-8");
                found.push((name, text));
            }
        }
    }
    found.sort();
    found
}

/// One `use` statement: where it sits and the paths it names.
struct Use {
    /// The module path the statement is written in (the file's, plus any inline modules).
    module: Vec<String>,
    /// A `pub use` (any visibility): a re-export.
    public: bool,
    /// Each imported path, braces expanded, renames dropped.
    paths: Vec<Vec<String>>,
}

/// The module path of a file: `engineio/session/mod.rs` is `engineio::session`.
fn module_of(file: &str) -> Vec<String> {
    let mut parts: Vec<String> = file
        .trim_end_matches(".rs")
        .split('/')
        .map(String::from)
        .collect();
    if parts.last().is_some_and(|last| last == "mod") {
        parts.pop();
    }
    parts
}

/// A line without its `//` comment (good enough for this code base: no `//` in its strings here
/// matters, since only paths are looked for).
fn code_of(line: &str) -> &str {
    line.find("//").map_or(line, |at| &line[..at])
}

/// The `use` statements of a file, and the first segments of its inline `crate::` paths.
fn parse(file: &str, text: &str) -> (Vec<Use>, BTreeSet<String>) {
    let base = module_of(file);
    let mut uses = Vec::new();
    let mut inline = BTreeSet::new();
    // Inline modules (`mod tests {`) open at an indentation and close at the same one.
    let mut open: Vec<(usize, String)> = Vec::new();
    let mut statement: Option<(bool, String)> = None;
    for raw in text.lines() {
        let line = code_of(raw);
        let indent = line.len() - line.trim_start().len();
        let trimmed = line.trim();
        if let Some((public, mut body)) = statement.take() {
            body.push_str(trimmed);
            finish_use(&base, &open, public, body, &mut uses, &mut statement);
            continue;
        }
        if open
            .last()
            .is_some_and(|(at, _)| *at == indent && trimmed == "}")
        {
            open.pop();
            continue;
        }
        if let Some(name) = inline_module(trimmed) {
            open.push((indent, name));
            continue;
        }
        if let Some((public, body)) = use_body(trimmed) {
            finish_use(
                &base,
                &open,
                public,
                body.to_string(),
                &mut uses,
                &mut statement,
            );
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                inline.insert(name);
            }
        }
    }
    (uses, inline)
}

/// The name of an inline module opened on this line (`mod tests {`).
fn inline_module(trimmed: &str) -> Option<String> {
    let rest = trimmed.strip_prefix("pub ").unwrap_or(trimmed);
    let name = rest.strip_prefix("mod ")?.strip_suffix('{')?.trim();
    Some(name.to_string())
}

/// `(public, rest)` when the line starts a `use` statement.
fn use_body(trimmed: &str) -> Option<(bool, &str)> {
    if let Some(body) = trimmed.strip_prefix("use ") {
        return Some((false, body));
    }
    let after_pub = trimmed.strip_prefix("pub")?;
    let after_visibility = match after_pub.strip_prefix('(') {
        Some(scoped) => &scoped[scoped.find(')')? + 1..],
        None => after_pub,
    };
    Some((true, after_visibility.trim_start().strip_prefix("use ")?))
}

/// Records a statement once its `;` is there, or keeps collecting it.
fn finish_use(
    base: &[String],
    open: &[(usize, String)],
    public: bool,
    body: String,
    uses: &mut Vec<Use>,
    statement: &mut Option<(bool, String)>,
) {
    let Some(end) = body.find(';') else {
        *statement = Some((public, body));
        return;
    };
    let compact: String = body[..end].split_whitespace().collect::<Vec<_>>().join(" ");
    let mut module = base.to_vec();
    module.extend(open.iter().map(|(_, name)| name.clone()));
    let paths = expand(&compact)
        .into_iter()
        .map(|path| {
            let path = path
                .split(" as ")
                .next()
                .unwrap_or_default()
                .replace(' ', "");
            let mut segments: Vec<String> = path.split("::").map(String::from).collect();
            if segments.last().is_some_and(|last| last == "self") {
                segments.pop();
            }
            segments
        })
        .collect();
    uses.push(Use {
        module,
        public,
        paths,
    });
}

/// `a::{b, c::{d, e}}` as `a::b`, `a::c::d`, `a::c::e`.
fn expand(tree: &str) -> Vec<String> {
    let Some(open) = tree.find('{') else {
        return vec![tree.trim().to_string()];
    };
    let close = tree.rfind('}').unwrap_or(tree.len());
    let prefix = &tree[..open];
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, open + 1);
    for (at, c) in tree[..close].char_indices().skip(open + 1) {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&tree[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    parts.push(&tree[start..close]);
    parts
        .into_iter()
        .filter(|part| !part.trim().is_empty())
        .flat_map(|part| expand(part.trim()))
        .map(|path| format!("{prefix}{path}"))
        .collect()
}

/// The crate's files by module path, and what each one's `use` lines say.
struct Crate {
    files: HashMap<Vec<String>, String>,
    uses: HashMap<String, Vec<Use>>,
    inline: HashMap<String, BTreeSet<String>>,
    texts: HashMap<String, String>,
}

impl Crate {
    fn new(sources: &[(String, String)]) -> Crate {
        let mut krate = Crate {
            files: HashMap::new(),
            uses: HashMap::new(),
            inline: HashMap::new(),
            texts: HashMap::new(),
        };
        for (file, text) in sources
            .iter()
            .filter(|(file, _)| !SKIPPED.contains(&file.as_str()))
        {
            let (uses, inline) = parse(file, text);
            krate.files.insert(module_of(file), file.clone());
            krate.uses.insert(file.clone(), uses);
            krate.inline.insert(file.clone(), inline);
            krate.texts.insert(file.clone(), text.clone());
        }
        krate
    }

    /// The path as written in `module`, made absolute (`crate::` dropped); `None` for another crate.
    fn absolute(&self, module: &[String], path: &[String]) -> Option<Vec<String>> {
        let (first, rest) = path.split_first()?;
        let mut at = module.to_vec();
        match first.as_str() {
            "crate" => at.clear(),
            "self" => {}
            "super" => {
                at.pop();
                let mut rest = rest;
                while rest.first().is_some_and(|segment| segment == "super") {
                    at.pop();
                    rest = &rest[1..];
                }
                at.extend(rest.iter().cloned());
                return Some(at);
            }
            _ => {
                let mut child = at.clone();
                child.push(first.clone());
                if !self.files.contains_key(&child) {
                    return None;
                }
                at.push(first.clone());
            }
        }
        at.extend(rest.iter().cloned());
        Some(at)
    }

    /// The file that defines what an absolute path names, following re-exports.
    fn file_of(&self, path: &[String], hops: usize) -> Option<String> {
        let split = (0..=path.len())
            .rev()
            .find(|&n| self.files.contains_key(&path[..n]))?;
        let file = self.files[&path[..split]].clone();
        let Some(item) = path.get(split) else {
            return Some(file);
        };
        if hops == 0 {
            return Some(file);
        }
        let module = module_of(&file);
        for reexport in self.uses[&file]
            .iter()
            .filter(|u| u.public && u.module == module)
        {
            for target in &reexport.paths {
                let Some(absolute) = self.absolute(&module, target) else {
                    continue;
                };
                let last = target.last().map(String::as_str);
                if last == Some(item.as_str()) {
                    return self.file_of(&absolute, hops - 1);
                }
                if last == Some("*") {
                    let mut inner = absolute[..absolute.len() - 1].to_vec();
                    let glob_file = self.file_of(&inner, hops - 1)?;
                    inner.push(item.clone());
                    let found = self.file_of(&inner, hops - 1)?;
                    if found != glob_file || defines(&self.texts[&glob_file], item) {
                        return Some(found);
                    }
                }
            }
        }
        Some(file)
    }
}

/// Whether a file declares an item of that name.
fn defines(text: &str, item: &str) -> bool {
    const KINDS: &[&str] = &[
        "struct", "enum", "fn", "trait", "type", "const", "static", "mod",
    ];
    text.lines().any(|line| {
        let words: Vec<&str> = line
            .split(|c: char| c.is_whitespace() || "<(:;{".contains(c))
            .collect();
        words
            .windows(2)
            .any(|pair| KINDS.contains(&pair[0]) && pair[1] == item)
    })
}

/// Foundation utilities that the other foundation utilities may use too (they use nothing).
const BASE: &[&str] = &["sync"];

/// The layer of a top-level module; `None` for a foundation utility.
fn layer(module: &str) -> Option<usize> {
    LAYERS.iter().position(|name| *name == module)
}

/// Every breach of the rules in the sources given, as readable lines.
fn violations(sources: &[(String, String)]) -> Vec<String> {
    let krate = Crate::new(sources);
    let mut found = BTreeSet::new();
    let mut edges: BTreeSet<(String, String)> = BTreeSet::new();
    for (file, uses) in &krate.uses {
        let top = &module_of(file)[0];
        let mut named: BTreeSet<String> = krate.inline[file].clone();
        for import in uses.iter().filter(|u| !u.public) {
            for path in &import.paths {
                let Some(absolute) = krate.absolute(&import.module, path) else {
                    continue;
                };
                if let Some(first) = absolute.first() {
                    named.insert(first.clone());
                }
                if let Some(target) = krate.file_of(&absolute, MAX_REEXPORT_HOPS) {
                    if &target != file {
                        edges.insert((file.clone(), target));
                    }
                }
            }
        }
        for other in named.iter().filter(|other| *other != top) {
            let allowed = match (layer(top), layer(other)) {
                (Some(own), Some(theirs)) => theirs < own,
                (Some(_), None) => true,
                (None, None) => BASE.contains(&other.as_str()),
                (None, Some(_)) => false,
            };
            if !allowed && krate.files.contains_key(&vec![other.clone()]) {
                found.insert(format!("{file}: layer `{top}` imports `{other}`"));
            }
        }
    }
    let parts: BTreeSet<(String, String)> = edges
        .iter()
        .filter_map(|(from, to)| parts_in_common_directory(from, to))
        .collect();
    for (a, b) in &parts {
        if a < b && parts.contains(&(b.clone(), a.clone())) {
            found.insert(format!("{a} and {b} import each other"));
        }
    }
    found.into_iter().collect()
}

/// The two files as parts of their deepest common directory (a file, or a subdirectory as a
/// whole); `None` when they are in different top-level modules (the layers judge those).
fn parts_in_common_directory(a: &str, b: &str) -> Option<(String, String)> {
    let (pa, pb): (Vec<&str>, Vec<&str>) = (a.split('/').collect(), b.split('/').collect());
    let common = pa.iter().zip(&pb).take_while(|(x, y)| x == y).count();
    if common == 0 || common >= pa.len() || common >= pb.len() {
        return None;
    }
    let part = |p: &[&str]| p[..=common].join("/");
    Some((part(&pa), part(&pb)))
}

#[test]
fn layers_import_downward_only_and_no_two_files_import_each_other() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let found = violations(&read_sources(&src));
    assert!(found.is_empty(), "layering broken:\n{}", found.join("\n"));
}

#[test]
fn the_guard_sees_an_app_importing_web() {
    let sources = vec![
        ("apps/mod.rs".to_string(), "mod feed;\n".to_string()),
        (
            "apps/feed.rs".to_string(),
            "use crate::web::error::ApiError;\n".to_string(),
        ),
        ("web/mod.rs".to_string(), "pub mod error;\n".to_string()),
        (
            "web/error.rs".to_string(),
            "pub struct ApiError;\n".to_string(),
        ),
    ];
    assert_eq!(
        violations(&sources),
        ["apps/feed.rs: layer `apps` imports `web`"]
    );
}

#[test]
fn the_guard_sees_two_files_importing_each_other_through_reexports() {
    let sources = vec![
        (
            "engineio/mod.rs".to_string(),
            "mod session;\nmod socket;\npub use socket::Socket;\npub use session::*;\n".to_string(),
        ),
        (
            "engineio/socket.rs".to_string(),
            "use super::Session;\npub struct Socket;\n".to_string(),
        ),
        (
            "engineio/session/mod.rs".to_string(),
            "mod inbox;\npub use inbox::*;\n".to_string(),
        ),
        (
            "engineio/session/inbox.rs".to_string(),
            "use crate::engineio::{\n    Socket,\n};\npub struct Session;\n".to_string(),
        ),
    ];
    assert_eq!(
        violations(&sources),
        ["engineio/session and engineio/socket.rs import each other"]
    );
}

#[test]
fn the_guard_ignores_test_modules_importing_their_own_file_and_foundation_utilities() {
    let sources = vec![
        ("metrics.rs".to_string(), "pub fn get() {}\n".to_string()),
        (
            "engineio/mod.rs".to_string(),
            "mod packet;\nfn f() { crate::metrics::get() }\n#[cfg(test)]\nmod tests {\n    use super::*;\n}\n"
                .to_string(),
        ),
        ("engineio/packet.rs".to_string(), "use super::f;\n".to_string()),
    ];
    assert!(violations(&sources).is_empty());
}
