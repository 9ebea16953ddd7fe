//! A test that no two files of a crate import each other, directly or round a circle: each
//! file's `use` paths and `crate::`/`super::`/`self::`/child-module paths, resolved to the files
//! that define those modules (through re-exports: `crate::X` re-exported from `a` is `a`'s), must
//! form a graph without cycles. A file's inline test module, comments, literals and macro
//! invocations (`crate::m!`) do not count.

#[cfg(test)]
mod tests {
    use crate::root;
    use crate::source::{blank_comments_and_literals, is_ident, own_code};
    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};

    /// A module path inside a crate (`[]` is the crate root).
    type ModPath = Vec<String>;

    /// A crate's module files, each with its code (own code, comments and literals blanked).
    struct Crate {
        modules: BTreeMap<ModPath, (PathBuf, String)>,
    }

    fn code_of(file: &Path) -> String {
        let text =
            std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        blank_comments_and_literals(&own_code(&text).join("\n"))
    }

    /// The names of the modules a file declares with `mod name;` (at any nesting of inline
    /// modules, which this test treats as part of their file).
    fn declared_modules(code: &str) -> Vec<String> {
        let mut names = Vec::new();
        for statement in code.split([';', '{', '}']) {
            let words: Vec<&str> = statement.split_whitespace().collect();
            if let [.., "mod", name] = words.as_slice()
                && name.chars().all(is_ident)
                && code.contains(&format!("mod {name};"))
            {
                names.push(name.to_string());
            }
        }
        names
    }

    /// The module files reachable from a crate root through `mod name;`. A declared module
    /// without a file is a failure (the test would otherwise miss it).
    fn load_crate(root_file: &Path) -> Crate {
        let mut modules = BTreeMap::new();
        let mut todo = vec![(Vec::new(), root_file.to_path_buf())];
        while let Some((path, file)) = todo.pop() {
            let code = code_of(&file);
            let stem = file.file_stem().unwrap().to_str().unwrap();
            let dir = if ["lib", "main", "mod"].contains(&stem) || path.is_empty() {
                file.parent().unwrap().to_path_buf()
            } else {
                file.parent().unwrap().join(stem)
            };
            for name in declared_modules(&code) {
                let candidates = [
                    dir.join(format!("{name}.rs")),
                    dir.join(&name).join("mod.rs"),
                ];
                let child_file = candidates
                    .iter()
                    .find(|f| f.is_file())
                    .unwrap_or_else(|| panic!("{}: `mod {name};` has no file", file.display()));
                let mut child = path.clone();
                child.push(name);
                todo.push((child, child_file.clone()));
            }
            modules.insert(path, (file, code));
        }
        Crate { modules }
    }

    /// `a::{b, c::{d, e}}` as `a::b`, `a::c::d`, `a::c::e`.
    fn expand(path: &str) -> Vec<String> {
        let path: String = path.split_whitespace().collect::<Vec<_>>().join(" ");
        let Some(open) = path.find('{') else {
            return vec![path];
        };
        let close = path.rfind('}').unwrap_or(path.len());
        let (prefix, body) = (&path[..open], &path[open + 1..close]);
        let (mut parts, mut depth, mut current) = (Vec::new(), 0, String::new());
        for c in body.chars() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                _ => {}
            }
            if c == ',' && depth == 0 {
                parts.push(std::mem::take(&mut current));
            } else {
                current.push(c);
            }
        }
        parts.push(current);
        parts
            .iter()
            .filter(|p| !p.trim().is_empty())
            .flat_map(|p| expand(p.trim()))
            .map(|p| format!("{prefix}{p}"))
            .collect()
    }

    /// How many inline modules (`mod x { … }`) enclose each byte of `code`.
    fn inline_depths(code: &str) -> Vec<usize> {
        let bytes = code.as_bytes();
        let mut depth = vec![0usize; bytes.len() + 1];
        let (mut braces, mut open_modules) = (0usize, Vec::new());
        let mut pending = false;
        for (i, &b) in bytes.iter().enumerate() {
            // `mod name {`, or `mod $name {` in a macro that writes modules.
            let name = |c: char| is_ident(c) || c == '$';
            if code[i..].starts_with("mod ")
                && (i == 0 || !is_ident(bytes[i - 1] as char))
                && code[i + 4..].trim_start().starts_with(name)
            {
                let rest = code[i + 4..].trim_start();
                let after = rest.trim_start_matches(name).trim_start();
                pending = after.starts_with('{');
            }
            match b {
                b'{' => {
                    braces += 1;
                    if pending {
                        open_modules.push(braces);
                        pending = false;
                    }
                }
                b'}' => {
                    if open_modules.last() == Some(&braces) {
                        open_modules.pop();
                    }
                    braces = braces.saturating_sub(1);
                }
                _ => {}
            }
            depth[i + 1] = open_modules.len();
        }
        depth
    }

    /// Every path the code names, with the inline-module depth where it stands: `use` trees,
    /// expanded, and paths from `crate`, `super`, `self` or a child module (not macro calls).
    fn named_paths(code: &str, children: &[String]) -> Vec<(String, usize)> {
        let depths = inline_depths(code);
        let mut paths = Vec::new();
        let mut from = 0;
        while let Some(at) = code[from..].find("use ").map(|a| a + from) {
            from = at + 4;
            if at > 0 && is_ident(code.as_bytes()[at - 1] as char) {
                continue;
            }
            let end = code[from..].find(';').map_or(code.len(), |e| e + from);
            paths.extend(
                expand(&code[from..end])
                    .into_iter()
                    .map(|p| (p, depths[at])),
            );
            from = end;
        }
        let starts: Vec<&str> = ["crate", "super", "self"]
            .into_iter()
            .chain(children.iter().map(String::as_str))
            .collect();
        let bytes = code.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let boundary = i == 0 || !(is_ident(bytes[i - 1] as char) || bytes[i - 1] == b':');
            let start = starts.iter().find(|s| {
                boundary && code[i..].starts_with(*s) && code[i + s.len()..].starts_with("::")
            });
            let Some(start) = start else {
                i += 1;
                continue;
            };
            let mut j = i + start.len();
            while code[j..].starts_with("::") && code[j + 2..].chars().next().is_some_and(is_ident)
            {
                j += 2;
                j += code[j..].chars().take_while(|c| is_ident(*c)).count();
            }
            // `crate::{…}` is a `use` tree, expanded above; `crate::m!` a macro.
            let is_macro = code[j..].starts_with('!');
            if j > i + start.len() && !is_macro {
                paths.push((code[i..j].to_string(), depths[i]));
            }
            i = j.max(i + 1);
        }
        paths
    }

    /// Where `name`, re-exported by module `at` with `pub use`, comes from: the module it is
    /// taken from (in this crate) and its name there.
    fn re_export(krate: &Crate, at: &ModPath, name: &str) -> Option<(ModPath, String)> {
        let code = &krate.modules.get(at)?.1;
        let mut from = 0;
        while let Some(found) = code[from..].find("pub").map(|f| f + from) {
            from = found + 3;
            let rest = &code[from..];
            let rest = match rest.strip_prefix('(') {
                Some(r) => &r[r.find(')').map_or(0, |e| e + 1)..],
                None => rest,
            };
            let Some(rest) = rest.trim_start().strip_prefix("use ") else {
                continue;
            };
            let end = rest.find(';').unwrap_or(rest.len());
            for path in expand(&rest[..end]) {
                let (path, alias) = match path.split_once(" as ") {
                    Some((p, a)) => (p.trim().to_string(), a.trim().to_string()),
                    None => (path.clone(), path.rsplit("::").next()?.trim().to_string()),
                };
                if alias == name {
                    let segments: Vec<&str> = path.split("::").map(str::trim).collect();
                    let (source, item) = resolve(krate, at, &segments, 0);
                    return Some((source, item?));
                }
            }
        }
        None
    }

    /// The module a path names, from module `me` with `inline` enclosing inline modules
    /// (`crate`, `super` and `self` resolved, then the longest prefix that is a module file),
    /// and the item it names there, if any.
    fn resolve(
        krate: &Crate,
        me: &ModPath,
        segments: &[&str],
        inline: usize,
    ) -> (ModPath, Option<String>) {
        let mut base = me.clone();
        let mut rest = segments;
        match rest.first().copied() {
            Some("crate") => {
                base.clear();
                rest = &rest[1..];
            }
            Some("super" | "self") => {
                let mut inline = inline;
                while let Some(s @ ("super" | "self")) = rest.first().copied() {
                    if s == "super" {
                        // A `super` inside an inline module stays in the file first.
                        if inline > 0 {
                            inline -= 1;
                        } else {
                            base.pop();
                        }
                    }
                    rest = &rest[1..];
                }
            }
            _ => {}
        }
        let rest: Vec<String> = rest
            .iter()
            .filter(|s| !s.is_empty() && **s != "*")
            .map(|s| s.to_string())
            .collect();
        let mut full = base.clone();
        full.extend(rest.iter().cloned());
        while full.len() > base.len() && !krate.modules.contains_key(&full) {
            full.pop();
        }
        while !krate.modules.contains_key(&full) {
            full.pop();
        }
        let item = rest.get(full.len().saturating_sub(base.len())).cloned();
        (full, item)
    }

    /// The module files a module's code names (through re-exports, to where things are
    /// defined).
    fn imports(krate: &Crate, me: &ModPath) -> Vec<ModPath> {
        let code = &krate.modules[me].1;
        let children = declared_modules(code);
        let mut out = Vec::new();
        for (path, inline) in named_paths(code, &children) {
            let path = path.split(" as ").next().unwrap_or_default();
            let segments: Vec<&str> = path.split("::").map(str::trim).collect();
            let first = segments.first().copied().unwrap_or_default();
            if !["crate", "super", "self"].contains(&first) && !children.iter().any(|c| c == first)
            {
                continue;
            }
            let (mut target, mut item) = resolve(krate, me, &segments, inline);
            // An item named through a module that re-exports it: the module it comes from.
            let mut hops = 0;
            while let Some(name) = item.as_deref()
                && target != *me
                && hops < 8
            {
                match re_export(krate, &target, name) {
                    Some((source, original)) if source != target => {
                        (target, item) = (source, Some(original));
                    }
                    _ => break,
                }
                hops += 1;
            }
            if &target != me && !out.contains(&target) {
                out.push(target);
            }
        }
        out
    }

    /// The files of `krate` that lie on a circle of imports, each with the circle's files.
    fn circles(krate: &Crate) -> Vec<(PathBuf, Vec<PathBuf>)> {
        let names: Vec<&ModPath> = krate.modules.keys().collect();
        let index = |m: &ModPath| names.iter().position(|n| *n == m).unwrap();
        let n = names.len();
        let mut reach = vec![vec![false; n]; n];
        for m in krate.modules.keys() {
            for to in imports(krate, m) {
                reach[index(m)][index(&to)] = true;
            }
        }
        let direct = reach.clone();
        for k in 0..n {
            let through = reach[k].clone();
            for row in reach.iter_mut().filter(|row| row[k]) {
                for (to, via) in row.iter_mut().zip(&through) {
                    *to |= via;
                }
            }
        }
        (0..n)
            .filter(|&i| reach[i][i])
            .map(|i| {
                let on_circle = (0..n)
                    .filter(|&j| reach[i][j] && reach[j][i] && (direct[i][j] || i == j))
                    .map(|j| krate.modules[names[j]].0.clone())
                    .collect();
                (krate.modules[names[i]].0.clone(), on_circle)
            })
            .collect()
    }

    /// Every crate root of the workspace: libraries, binaries, benches.
    fn crate_roots() -> Vec<PathBuf> {
        let root = root();
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(root.join("crates"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        dirs.extend(["xtask", "benches", "fuzz"].map(|d| root.join(d)));
        let mut roots = Vec::new();
        for dir in dirs {
            let src = dir.join("src");
            roots.extend(
                ["lib.rs", "main.rs"]
                    .iter()
                    .map(|r| src.join(r))
                    .filter(|f| f.is_file()),
            );
            for targets in [src.join("bin"), dir.join("benches")] {
                if let Ok(entries) = std::fs::read_dir(targets) {
                    for path in entries.map(|e| e.unwrap().path()) {
                        if path.extension().is_some_and(|e| e == "rs") {
                            roots.push(path);
                        } else if path.join("main.rs").is_file() {
                            roots.push(path.join("main.rs"));
                        }
                    }
                }
            }
        }
        roots.sort();
        roots
    }

    #[test]
    fn no_file_imports_another_that_imports_it_back() {
        let root = root();
        let mut found = Vec::new();
        let mut reached = std::collections::BTreeSet::new();
        for root_file in crate_roots() {
            let krate = load_crate(&root_file);
            reached.extend(krate.modules.values().map(|(f, _)| f.clone()));
            for (file, circle) in circles(&krate) {
                let show = |f: &PathBuf| f.strip_prefix(&root).unwrap().display().to_string();
                found.push(format!(
                    "{} imports round a circle through {}",
                    show(&file),
                    circle.iter().map(show).collect::<Vec<_>>().join(", ")
                ));
            }
        }
        // Every source file is some crate's module: none escapes the check.
        let mut all = Vec::new();
        for dir in ["crates", "xtask", "benches", "fuzz"] {
            crate::source::rust_files(&root.join(dir), &mut all);
        }
        let unreached: Vec<_> = all
            .iter()
            .filter(|f| f.components().any(|c| c.as_os_str() == "src"))
            .filter(|f| !reached.contains(*f))
            .collect();
        assert!(
            unreached.is_empty(),
            "not reached from a crate root: {unreached:?}"
        );
        assert!(found.is_empty(), "{}", found.join("\n"));
    }

    #[test]
    fn a_circle_is_found_and_a_re_export_or_macro_is_not_one() {
        let dir = std::env::temp_dir().join(format!("instinct-circles-{}", std::process::id()));
        let src = dir.join("src");
        std::fs::create_dir_all(src.join("a")).unwrap();
        let write = |f: &str, text: &str| std::fs::write(src.join(f), text).unwrap();
        // `a` and its child import each other; `b` names `A` through the root's re-export and
        // calls a macro at the root, which is no import of the root; `c`'s inline module
        // imports its own file.
        write(
            "lib.rs",
            "mod a;\nmod b;\nmod c;\npub use a::A;\n#[macro_export]\nmacro_rules! m { () => {} }\n",
        );
        write("a.rs", "mod child;\nuse child::C;\npub struct A;\n");
        write("a/child.rs", "use super::A;\npub struct C;\n");
        write("b.rs", "use crate::{A};\nfn f() { crate::m!(); }\n");
        write("c.rs", "pub struct D;\nmod inner {\n    use super::D;\n}\n");
        let krate = load_crate(&src.join("lib.rs"));
        assert_eq!(krate.modules.len(), 5);
        let m = |p: &[&str]| p.iter().map(|s| s.to_string()).collect::<ModPath>();
        assert_eq!(imports(&krate, &m(&["b"])), [m(&["a"])]);
        assert_eq!(imports(&krate, &m(&["c"])), Vec::<ModPath>::new());
        let found = circles(&krate);
        let files: Vec<&PathBuf> = found.iter().map(|(f, _)| f).collect();
        assert_eq!(files, [&src.join("a.rs"), &src.join("a/child.rs")]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
