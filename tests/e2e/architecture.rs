//! The house rules that the compiler does not check: no import cycle between source
//! files of different folders in `app`, `ingest` and `store`. Each crate's module tree is read from its
//! `mod` declarations, every `use` and every `crate::`/`super::`/`self::` path is
//! resolved to the file that defines it, and the file graph must have no cycle.
//! (Crates cannot import each other in a cycle: cargo refuses it.)

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use syn::visit::Visit;

/// One crate's source files by module path (`["gui", "widgets", "heatmap"]`).
struct ModuleTree {
    files: BTreeMap<Vec<String>, PathBuf>,
}

impl ModuleTree {
    fn read(root: &Path) -> ModuleTree {
        let mut tree = ModuleTree {
            files: BTreeMap::new(),
        };
        for entry in ["lib.rs", "main.rs"] {
            let file = root.join(entry);
            if file.exists() && !tree.files.values().any(|f| f == &file) {
                tree.add(Vec::new(), file, root.to_path_buf());
            }
        }
        tree
    }

    /// Adds the file of module `path` and, recursively, the files it declares.
    fn add(&mut self, path: Vec<String>, file: PathBuf, dir: PathBuf) {
        let source = std::fs::read_to_string(&file).expect("read source");
        let parsed = syn::parse_file(&source).expect("parse source");
        self.files.entry(path.clone()).or_insert(file);
        for item in parsed.items {
            let syn::Item::Mod(m) = item else { continue };
            if m.content.is_some() {
                continue;
            }
            let name = m.ident.to_string();
            let (child, child_dir) = if dir.join(format!("{name}.rs")).exists() {
                (dir.join(format!("{name}.rs")), dir.join(&name))
            } else {
                (dir.join(&name).join("mod.rs"), dir.join(&name))
            };
            let mut child_path = path.clone();
            child_path.push(name);
            self.add(child_path, child, child_dir);
        }
    }

    /// The file defining the longest prefix of `path`.
    fn file_of(&self, path: &[String]) -> Option<&PathBuf> {
        (0..=path.len())
            .rev()
            .find_map(|n| self.files.get(&path[..n]))
    }

    fn is_module(&self, path: &[String]) -> bool {
        self.files.contains_key(path)
    }
}

/// Collects the module paths a file names, resolved against its own module.
struct Uses<'a> {
    tree: &'a ModuleTree,
    /// The module the visitor is in (the file's, plus inline modules).
    module: Vec<String>,
    found: BTreeSet<Vec<String>>,
    /// What the file's top-level `use` items bring into scope: name → path.
    bindings: BTreeMap<String, Vec<String>>,
    /// Depth of inline modules the visitor is in.
    inline: usize,
}

impl Uses<'_> {
    /// Resolves a path's segments; `None` for paths outside the crate.
    fn resolve(&self, segments: &[String], in_use: bool) -> Option<Vec<String>> {
        let mut base = self.module.clone();
        let mut rest = segments;
        match rest.first().map(String::as_str) {
            Some("crate") => {
                base.clear();
                rest = &rest[1..];
            }
            Some("self") => rest = &rest[1..],
            Some("super") => {
                while rest.first().map(String::as_str) == Some("super") {
                    base.pop();
                    rest = &rest[1..];
                }
            }
            // A path may start at a child module (`use widgets::x`, `chart_image::render()`);
            // one segment outside a `use` is a local name.
            Some(first) if in_use || segments.len() > 1 => {
                let mut child = base.clone();
                child.push(first.to_string());
                if !self.tree.is_module(&child) {
                    return None;
                }
            }
            _ => return None,
        }
        base.extend(rest.iter().cloned());
        Some(base)
    }

    fn add_use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.add_use_tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                let name = n.ident.to_string();
                self.add_path(prefix, Some(name.clone()), name);
            }
            syn::UseTree::Rename(r) => {
                self.add_path(prefix, Some(r.ident.to_string()), r.rename.to_string())
            }
            syn::UseTree::Glob(_) => self.add_path(prefix, None, String::new()),
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    self.add_use_tree(prefix, t);
                }
            }
        }
    }

    fn add_path(&mut self, prefix: &[String], last: Option<String>, binding: String) {
        let mut segments = prefix.to_vec();
        segments.extend(last.filter(|l| l != "self"));
        if let Some(p) = self.resolve(&segments, true) {
            if self.inline == 0 && !binding.is_empty() {
                self.bindings.insert(binding, p.clone());
            }
            self.found.insert(p);
        }
    }
}

impl<'ast> Visit<'ast> for Uses<'_> {
    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        self.add_use_tree(&mut Vec::new(), &u.tree);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        if let Some(p) = self.resolve(&segments, false) {
            self.found.insert(p);
        }
        syn::visit::visit_path(self, path);
    }

    /// `pub(crate)` and `pub(super)` name modules but import nothing.
    fn visit_visibility(&mut self, _: &'ast syn::Visibility) {}

    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        if m.content.is_some() {
            self.module.push(m.ident.to_string());
            self.inline += 1;
            syn::visit::visit_item_mod(self, m);
            self.inline -= 1;
            self.module.pop();
        }
    }
}

/// The files each file imports from, within one crate. A path that reaches an item
/// through a re-export (`pub use`) counts as an import of the file defining the item.
fn file_graph(root: &Path) -> BTreeMap<PathBuf, BTreeSet<PathBuf>> {
    let tree = ModuleTree::read(root);
    let mut found = BTreeMap::new();
    let mut bindings = BTreeMap::new();
    for (module, file) in &tree.files {
        let source = std::fs::read_to_string(file).expect("read source");
        let parsed = syn::parse_file(&source).expect("parse source");
        let mut uses = Uses {
            tree: &tree,
            module: module.clone(),
            found: BTreeSet::new(),
            bindings: BTreeMap::new(),
            inline: 0,
        };
        uses.visit_file(&parsed);
        found.insert(file.clone(), uses.found);
        bindings.insert(module.clone(), uses.bindings);
    }
    // Follows re-exports: `crate::alerts::Rules` is `crate::alerts::rules::Rules`.
    let definition = |mut path: Vec<String>| -> Vec<String> {
        for _ in 0..16 {
            let n = (0..=path.len())
                .rev()
                .find(|n| tree.is_module(&path[..*n]))
                .unwrap_or(0);
            let Some(target) = path
                .get(n)
                .and_then(|item| bindings.get(&path[..n])?.get(item))
            else {
                break;
            };
            let mut next = target.clone();
            next.extend(path[n + 1..].iter().cloned());
            if next == path {
                break;
            }
            path = next;
        }
        path
    };
    found
        .into_iter()
        .map(|(file, paths)| {
            let targets = paths
                .into_iter()
                .filter_map(|p| tree.file_of(&definition(p)).cloned())
                .filter(|f| *f != file)
                .collect();
            (file, targets)
        })
        .collect()
}

/// The strongly connected components with more than one file (Tarjan's algorithm).
fn cycles(graph: &BTreeMap<PathBuf, BTreeSet<PathBuf>>) -> Vec<Vec<PathBuf>> {
    struct State<'a> {
        graph: &'a BTreeMap<PathBuf, BTreeSet<PathBuf>>,
        index: BTreeMap<&'a PathBuf, usize>,
        low: BTreeMap<&'a PathBuf, usize>,
        stack: Vec<&'a PathBuf>,
        on_stack: BTreeSet<&'a PathBuf>,
        found: Vec<Vec<PathBuf>>,
    }
    fn connect<'a>(s: &mut State<'a>, v: &'a PathBuf) {
        let i = s.index.len();
        s.index.insert(v, i);
        s.low.insert(v, i);
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in s.graph.get(v).into_iter().flatten() {
            if !s.index.contains_key(w) {
                connect(s, w);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(lw);
            } else if s.on_stack.contains(w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w.clone());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.found.push(component);
            }
        }
    }
    let mut s = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !s.index.contains_key(v) {
            connect(&mut s, v);
        }
    }
    s.found
}

#[test]
fn no_import_cycle_crosses_folders() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut problems = Vec::new();
    for krate in ["app", "ingest", "store"] {
        let root = workspace.join(krate).join("src");
        let graph = file_graph(&root);
        assert!(graph.len() > 5, "{krate}: read only {} files", graph.len());
        // A module's files may use each other (a type in `mod.rs`, its methods in the
        // files beside it); across folders, imports must run one way.
        let across_folders = |cycle: &Vec<PathBuf>| {
            let folders: BTreeSet<&Path> = cycle.iter().filter_map(|f| f.parent()).collect();
            folders.len() > 1
        };
        for cycle in cycles(&graph).into_iter().filter(across_folders) {
            let names: Vec<String> = cycle
                .iter()
                .map(|f| f.strip_prefix(&root).unwrap_or(f).display().to_string())
                .collect();
            problems.push(format!("{krate}: {}", names.join(" <-> ")));
        }
    }
    assert!(
        problems.is_empty(),
        "import cycles between files of different folders:\n{}",
        problems.join("\n")
    );
}

/// The check finds a cycle when there is one (so that its silence means something).
#[test]
fn the_cycle_check_finds_a_cycle() {
    let a = PathBuf::from("a.rs");
    let b = PathBuf::from("b.rs");
    let c = PathBuf::from("c.rs");
    let graph = BTreeMap::from([
        (a.clone(), BTreeSet::from([b.clone()])),
        (b.clone(), BTreeSet::from([a.clone()])),
        (c.clone(), BTreeSet::from([a.clone()])),
    ]);
    assert_eq!(cycles(&graph), vec![vec![a, b]]);
}
